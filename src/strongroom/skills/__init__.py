"""Background analysis of stored content: the virus scan, and skills that read (text, OCR), listen
(transcripts) and look (faces and number plates) at a file, with a processing log per file (runs.py,
processing.py) and sealed result cards (cards.py). docs/ops/skills.md describes them for operators.

Each skill runs as a job on the worker, runs its outside tools locked down (tools.py), and reports a
missing tool or a file it cannot read by name, in the processing log, instead of failing silently.
"""
