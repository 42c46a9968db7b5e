"""Background work: a job queue written in the same transaction as the change that needs it, and the worker.

Embedded default: the queue is a database table and `strongroom serve` runs a worker thread in-process.
"""
