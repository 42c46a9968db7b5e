"""Key provider implementations: file (a local 0600 key file). Cloud KMS providers go here too."""
