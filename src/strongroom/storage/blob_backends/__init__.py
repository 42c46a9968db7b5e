"""Blob store implementations: local (a directory). S3 and Azure backends go here too."""
