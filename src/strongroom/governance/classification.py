"""Classifying an item: who may set or change its label, the folder floor, and the record of each change.

- Raising a label (OFFICIAL → OFFICIAL-SENSITIVE → SECRET) needs EDIT on the item: editors, co-owners
  and owners. Lowering it (declassifying) needs MANAGE: co-owners and owners only.
- Every change states a reason, recorded in the audit event with the old and the new label.
- A folder's label is the floor for what is in it: nothing is created in it with a lower label, and an
  item inside cannot be set below it (access already treats it as the folder's; see `access.labels`).

What a label allows (which links, which grants) is decided at access time by `access.policy.can`, so a
change here acts on every door at the next request.
"""

from sqlalchemy.orm import Session

from strongroom.access import labels
from strongroom.access.actions import Action
from strongroom.access.loaders import access_item, ancestry
from strongroom.access.policy import can
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.audit.reasons import HEADER
from strongroom.clock import Clock
from strongroom.content.folders import ref
from strongroom.content.models import Item
from strongroom.errors import InputError, NotAllowed, ReasonRequired, VersionChanged
from strongroom.sharing import link_scope


def parse_label(value: str) -> labels.Label:
    """A label as a person may type it (any case, spaces or dashes). Raises InputError."""
    clean = "-".join(value.strip().upper().replace("_", " ").replace("-", " ").split())
    try:
        return labels.Label(clean)
    except ValueError:
        known = ", ".join(labels.ORDER)
        raise InputError(
            f"{value!r} is not a classification; use one of {known}.", field="classification"
        ) from None


def may_classify(session: Session, actor: Actor, item: Item) -> dict[str, bool]:
    """What the actor may do to the item's label, for pages that offer the choice."""
    chain = ancestry(session, item)
    return {"raise": can(actor, Action.EDIT, chain), "lower": can(actor, Action.MANAGE, chain)}


def classify(
    session: Session,
    actor: Actor,
    *,
    item_id: str,
    label: labels.Label,
    reason: str | None,
    clock: Clock,
    expected_etag: str | None = None,
) -> Item:
    """Set the item's classification. Raises NotFound, NotAllowed (role, folder floor), ReasonRequired,
    VersionChanged."""
    item = access_item(session, actor, item_id, Action.SEE)
    if expected_etag is not None and expected_etag != item.etag:
        raise VersionChanged("The item changed since you read it; reload and try again.", etag=item.etag)
    old = item.classification
    if label.value == old:
        return item
    lowering = labels.rank(label.value) < labels.rank(old)
    chain = ancestry(session, item)
    if lowering and not can(actor, Action.MANAGE, chain):
        raise NotAllowed("Only co-owners and owners may lower a classification.", classification=old)
    if not can(actor, Action.EDIT, chain):
        raise NotAllowed("Only editors, co-owners and owners may classify an item.", classification=old)
    floor = labels.effective_label(chain[:-1]) if len(chain) > 1 else labels.Label.OFFICIAL.value
    if labels.rank(label.value) < labels.rank(floor):
        raise NotAllowed(
            f"This item is in a folder classified {floor}; it cannot be classified lower than that.",
            floor=floor,
        )
    if reason is None:
        raise ReasonRequired(
            f"Say why the classification changes: send a reason (or the {HEADER} header).", header=HEADER
        )
    now = clock.now()
    item.classification = label.value
    item.revision += 1
    item.updated_at = now
    events.record(
        session,
        actor,
        AuditAction.CLASSIFICATION_CHANGED,
        item=ref(item),
        details={"from": old, "to": label.value, "direction": "lowered" if lowering else "raised"},
        reason=reason,
        at=now,
    )
    if not lowering:
        link_scope.note_links_now_withholding(
            session, actor, item, cause="classification raised", clock=clock
        )
    return item
