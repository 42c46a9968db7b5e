"""Storage: where file versions' bytes live, sealed with a per-version data key.

Owns the sealed blob format (sealed_stream), blob stores (blobs, blob_backends), key providers
(keys, key_providers) and the one-pass hash-and-seal writer and ranged reader (sealed_blobs).
Does not know about folders, files, permissions or audit events; content/ records what it stores.
"""
