"""What an offline verification trusts (keys held apart from the server, the log's name) and what it
concluded.

Nothing in a file vouches for itself: the public key written in an export or a custody bundle is
only used to check that the file is consistent with itself, and the result is then *unverified*.
Only a key the verifier holds (`--public-key`, a file of keys kept away from the server) makes a
signed checkpoint count, and only a checkpoint of the expected log (its `origin`) counts.

The three outcomes, and the exit status `strongroom audit verify` gives each:

* `verified`, exit 0: nothing was altered, and checkpoints signed by a trusted key for the expected
  log cover the events;
* `tampered`, exit 1: something was edited, inserted, removed, reordered or re-signed, or (in a
  custody bundle) an event is not covered by the signed checkpoint, or there is no checkpoint;
* `unverified`, exit 3: nothing found wrong, but nothing trusted vouches for it: no trusted key was
  given, or no signed checkpoint covers the events.

(Exit status 2 is a usage error: a missing file or a malformed key.)
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from strongroom.audit.checkpoints import signature_valid


class Outcome(StrEnum):
    VERIFIED = "verified"
    TAMPERED = "tampered"
    UNVERIFIED = "unverified"


EXIT_STATUS = {Outcome.VERIFIED: 0, Outcome.TAMPERED: 1, Outcome.UNVERIFIED: 3}
NO_TRUSTED_KEY = (
    "no trusted key: the checkpoints were checked only against the key written in the file itself; "
    "pass the audit public key you hold (--public-key, from `strongroom audit public-key` or a witness)"
)


@dataclass(frozen=True)
class Trust:
    """The keys the verifier holds (any of them may have signed a checkpoint) and the log it expects."""

    keys: frozenset[bytes] = frozenset()
    origin: str | None = None

    @classmethod
    def of(cls, keys: Collection[bytes] = (), origin: str | None = None) -> Trust:
        return cls(frozenset(keys), origin)


@dataclass
class Signers:
    """The keys checkpoints are checked against in one verification, and whether they are trusted."""

    keys: frozenset[bytes]
    trusted: bool

    @classmethod
    def choose(cls, trust: Trust, file_key_hex: object) -> Signers:
        """The trusted keys, or else the file's own key (which only shows self-consistency)."""
        if trust.keys:
            return cls(trust.keys, trusted=True)
        try:
            key = bytes.fromhex(str(file_key_hex)) if file_key_hex else b""
        except ValueError:
            key = b""
        return cls(frozenset({key}) if key else frozenset(), trusted=False)

    def signed(self, record: dict[str, Any]) -> bool:
        return any(signature_valid(record, key) for key in self.keys)


@dataclass
class Verdict:
    """What is wrong (`problems`), what keeps the result from being verified (`unverified`), and notes."""

    problems: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> Outcome:
        if self.problems:
            return Outcome.TAMPERED
        if self.unverified:
            return Outcome.UNVERIFIED
        return Outcome.VERIFIED

    @property
    def exit_status(self) -> int:
        return EXIT_STATUS[self.outcome]


def origin_problem(record: dict[str, Any], expected: str | None, *, source: str) -> str | None:
    """A finding if a checkpoint names another log than the one expected (None when it matches)."""
    origin = record.get("origin")
    if expected is None or origin == expected:
        return None
    return (
        f"{source} checkpoint at tree size {record.get('tree_size')} is signed for the log {origin!r},"
        f" not {expected!r}: it does not vouch for this log"
    )
