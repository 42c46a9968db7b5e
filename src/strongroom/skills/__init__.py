"""Background analysis of stored content: virus scanning now; transcripts, OCR and more later.

Each skill runs as a job on the worker, declares the outside tool it needs, and reports a missing
tool by name and setting instead of failing silently.
"""
