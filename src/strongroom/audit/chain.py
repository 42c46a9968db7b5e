"""The hash chain: how one event's hash is computed from its content and the previous hash.

The canonical form is part of the evidence format: changing it breaks every existing chain.
"""

import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_payload(fields: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers: every field but the hash itself, canonical JSON, UTF-8."""
    return canonical_json({k: v for k, v in fields.items() if k != "hash"}).encode()


def chain_hash(prev_hash: str, payload: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + payload).hexdigest()
