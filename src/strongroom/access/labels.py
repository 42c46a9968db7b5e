"""Classification labels and which ways in may reach which label: the rules `policy.can()` applies.

A label is the Government Security Classification of an item: OFFICIAL < OFFICIAL-SENSITIVE < SECRET.
What an item *is* for access is its effective label: the highest label on its path (a folder's label
covers everything below it, so moving an item into a SECRET folder makes it SECRET there, and moving
it out again gives it back its own label). An unknown label ranks above all others (fail closed).

Ways in, and the highest label each may reach:
- a shared link that anyone may open without proving who they are: OFFICIAL;
- a shared link for the force, for collaborators, or with recipient proof: OFFICIAL-SENSITIVE;
- no shared link ever reaches SECRET;
- grants: any label, except that SECRET is reached only by owners and grants to a user by name, never
  through a group (need to know is decided person by person).
"""

from collections.abc import Sequence
from enum import StrEnum

from strongroom.content.models import Item


class Label(StrEnum):
    """The classifications Strongroom knows, weakest first (the order is the enum's)."""

    OFFICIAL = "OFFICIAL"
    OFFICIAL_SENSITIVE = "OFFICIAL-SENSITIVE"
    SECRET = "SECRET"  # noqa: S105 - a classification label, not a password


ORDER: tuple[str, ...] = tuple(label.value for label in Label)


def rank(label: str | None) -> int:
    """The label's place in ORDER; an unknown label ranks above every known one."""
    if label is None:
        return 0
    try:
        return ORDER.index(label)
    except ValueError:
        return len(ORDER)


def not_above(floor: int) -> frozenset[str | None] | None:
    """Every label whose rank is at most `floor` (None: every label, when `floor` is an unknown label's).
    A listing tests each row's label against this set: one lookup, not a `rank` call per row."""
    if floor >= len(ORDER):
        return None
    return frozenset((None, *ORDER[: floor + 1]))


def highest(labels: Sequence[str | None]) -> str:
    best = Label.OFFICIAL.value
    for label in labels:
        if label is not None and rank(label) > rank(best):
            best = label
    return best


def effective_label(chain: Sequence[Item]) -> str:
    """The label that governs the last item of `chain` (root first): the highest on its path."""
    return highest([node.classification for node in chain])


def link_ceiling(*, access_level: str, require_recipient_proof: bool) -> Label:
    """The highest label a shared link may serve."""
    if access_level == "anyone" and not require_recipient_proof:
        return Label.OFFICIAL
    return Label.OFFICIAL_SENSITIVE


def link_may_serve(label: str, *, access_level: str, require_recipient_proof: bool) -> bool:
    ceiling = link_ceiling(access_level=access_level, require_recipient_proof=require_recipient_proof)
    return rank(label) <= rank(ceiling)


def group_grants_reach(label: str) -> bool:
    """Whether a role held only through a group reaches an item of this label."""
    return rank(label) < rank(Label.SECRET)
