"""The audit trail: an append-only, hash-chained event log written in the same transaction as each change.

Owns event ordering (gap-free sequence), hashing, checkpoints and reports. It never decides access.
Entry points: events.record, chain.verify_chain.
"""
