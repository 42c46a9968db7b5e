"""Idempotency keys: a retried request with the same `Idempotency-Key` gets the first one's answer."""
