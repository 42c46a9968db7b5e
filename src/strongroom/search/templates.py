"""Metadata templates (typed fields an administrator defines) and the values people set on items.

Field types: text, number, date (YYYY-MM-DD), enum (one of `options`), multi (several of `options`).
Values are checked against the template (MetadataInvalid, code `metadata_invalid`, names the field),
stored as given (ItemMetadata) and as typed rows the query language compares (MetadataValue), and their
words go into the item's search document (source "metadata"). Setting values on a folder may cascade
to everything below it that the person may edit. Every change is audited with before and after.
"""

import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from strongroom.access.actions import Action, OrgAction
from strongroom.access.loaders import access_item, ancestry
from strongroom.access.policy import can
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.clock import Clock
from strongroom.content import files as content_files
from strongroom.content.models import Item
from strongroom.db.base import new_id
from strongroom.errors import MetadataInvalid, NotAllowed, NotFound, TemplateInvalid
from strongroom.search.indexing import index_text
from strongroom.search.models import ItemMetadata, MetadataTemplate, MetadataValue
from strongroom.search.query import KEY

TYPES = ("text", "number", "date", "enum", "multi")
MAX_FIELDS = 50
MAX_OPTIONS = 200
MAX_TEXT = 1000
MAX_CASCADE = 10_000


def _ref(item: Item) -> ItemRef:
    return ItemRef(item.kind, item.id, item.name)


def _must_administer(actor: Actor) -> None:
    if not can(actor, OrgAction.ADMINISTER):
        raise NotAllowed("only an administrator may define metadata templates")


def check_fields(raw: object) -> list[dict[str, Any]]:
    """The template's fields, checked and normalised; TemplateInvalid says what is wrong."""
    if not isinstance(raw, list) or not raw or len(raw) > MAX_FIELDS:
        raise TemplateInvalid(f"a template has between 1 and {MAX_FIELDS} fields")
    fields: list[dict[str, Any]] = []
    seen: set[str] = set()
    for spec in raw:
        if not isinstance(spec, Mapping):
            raise TemplateInvalid("each field is an object")
        key = str(spec.get("key", ""))
        if not KEY.fullmatch(key) or key in seen:
            raise TemplateInvalid(f"field key '{key[:64]}' must be unique, lower case letters, digits or _")
        kind = spec.get("type")
        if kind not in TYPES:
            raise TemplateInvalid(f"field '{key}' has type {kind!r}; use one of {', '.join(TYPES)}")
        options = spec.get("options") or []
        if kind in {"enum", "multi"}:
            if not isinstance(options, list) or not options or len(options) > MAX_OPTIONS:
                raise TemplateInvalid(f"field '{key}' needs between 1 and {MAX_OPTIONS} options")
            options = [str(option)[:200] for option in options]
        seen.add(key)
        label = str(spec.get("label") or key)[:200]
        fields.append(
            {
                "key": key,
                "label": label,
                "type": kind,
                "required": bool(spec.get("required")),
                "options": options,
            }
        )
    return fields


def create_template(
    session: Session, actor: Actor, *, key: str, name: str, fields: object, clock: Clock
) -> MetadataTemplate:
    _must_administer(actor)
    if not KEY.fullmatch(key):
        raise TemplateInvalid(
            "a template key is lower case letters, digits or _ (it names the template in queries)"
        )
    if session.scalar(select(MetadataTemplate.id).where(MetadataTemplate.key == key)) is not None:
        raise TemplateInvalid(f"a template '{key}' exists already")
    template = MetadataTemplate(
        id=new_id("mt"),
        key=key,
        name=name.strip()[:200] or key,
        fields=json.dumps(check_fields(fields)),
        created_at=clock.now(),
        created_by_id=actor.user_id,
        revision=1,
    )
    session.add(template)
    events.record(
        session,
        actor,
        AuditAction.TEMPLATE_CREATED,
        details={"template": key, "fields": json.loads(template.fields)},
        at=clock.now(),
    )
    return template


def change_template(
    session: Session, actor: Actor, *, key: str, name: str | None, fields: object, clock: Clock
) -> MetadataTemplate:
    """New fields for a template; values already set stay as they were until next edited."""
    _must_administer(actor)
    template = get_template(session, key)
    before = json.loads(template.fields)
    template.fields = json.dumps(check_fields(fields))
    if name is not None:
        template.name = name.strip()[:200] or template.name
    template.revision += 1
    events.record(
        session,
        actor,
        AuditAction.TEMPLATE_CHANGED,
        details={"template": key, "before": before, "after": json.loads(template.fields)},
        at=clock.now(),
    )
    return template


def get_template(session: Session, key: str) -> MetadataTemplate:
    template = session.scalar(select(MetadataTemplate).where(MetadataTemplate.key == key))
    if template is None:
        raise NotFound("template", key)
    return template


def list_templates(session: Session) -> list[MetadataTemplate]:
    return list(session.scalars(select(MetadataTemplate).order_by(MetadataTemplate.key)))


def validate(template: MetadataTemplate, values: object) -> dict[str, Any]:
    """The values, typed and checked against the template's fields; MetadataInvalid names the field."""
    if not isinstance(values, Mapping):
        raise MetadataInvalid("values are an object of field: value")
    fields = {spec["key"]: spec for spec in json.loads(template.fields)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise MetadataInvalid(
            f"'{str(unknown[0])[:64]}' is not a field of {template.key}", field=str(unknown[0])[:64]
        )
    clean: dict[str, Any] = {}
    for key, spec in fields.items():
        value = values.get(key)
        if value is None or value in ("", []):
            if spec["required"]:
                raise MetadataInvalid(f"{spec['label']} is required", field=key)
            continue
        clean[key] = _typed(spec, value)
    return clean


def _typed(spec: Mapping[str, Any], value: object) -> object:
    key, kind = spec["key"], spec["type"]
    if kind == "number":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not abs(value) <= 1e15  # also refuses NaN
        ):
            raise MetadataInvalid(f"{spec['label']} must be a number", field=key)
        return value
    if kind == "date":
        try:
            return (
                date.fromisoformat(str(value)).isoformat()
                if re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value))
                else _bad_date(spec)
            )
        except ValueError:
            return _bad_date(spec)
    if kind == "multi":
        if not isinstance(value, list) or any(choice not in spec["options"] for choice in value):
            raise MetadataInvalid(
                f"{spec['label']} must be a list of: {', '.join(spec['options'])[:300]}", field=key
            )
        return sorted(set(value), key=spec["options"].index)
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise MetadataInvalid(f"{spec['label']} must be text of at most {MAX_TEXT} characters", field=key)
    if kind == "enum" and value not in spec["options"]:
        raise MetadataInvalid(
            f"{spec['label']} must be one of: {', '.join(spec['options'])[:300]}", field=key
        )
    return value.strip()


def _bad_date(spec: Mapping[str, Any]) -> str:
    raise MetadataInvalid(f"{spec['label']} must be a date, YYYY-MM-DD", field=spec["key"])


def item_metadata(session: Session, actor: Actor, item_id: str) -> dict[str, dict[str, Any]]:
    """Every template's values on an item the actor may see, by template key."""
    access_item(session, actor, item_id, Action.SEE)
    return _values_of(session, item_id)


def _values_of(session: Session, item_id: str) -> dict[str, dict[str, Any]]:
    rows = session.execute(
        select(MetadataTemplate.key, ItemMetadata.values)
        .join(MetadataTemplate, MetadataTemplate.id == ItemMetadata.template_id)
        .where(ItemMetadata.item_id == item_id)
        .order_by(MetadataTemplate.key)
    )
    return {key: json.loads(values) for key, values in rows}


def set_metadata(
    session: Session,
    actor: Actor,
    *,
    item_id: str,
    template_key: str,
    values: object,
    cascade: bool,
    clock: Clock,
) -> dict[str, Any]:
    """Set the item's values of one template (replacing them); with `cascade`, also on every live item
    below a folder that the actor may edit. Returns the values as stored."""
    item = access_item(session, actor, item_id, Action.EDIT)
    template = get_template(session, template_key)
    clean = validate(template, values)
    targets = [item]
    if cascade and item.is_folder:
        targets += _editable_below(session, actor, item)
    for target in targets:
        _store(session, actor, target, template, clean, clock=clock)
    return clean


def remove_metadata(session: Session, actor: Actor, *, item_id: str, template_key: str, clock: Clock) -> None:
    item = access_item(session, actor, item_id, Action.EDIT)
    template = get_template(session, template_key)
    row = session.get(ItemMetadata, (item.id, template.id))
    if row is None:
        raise NotFound("metadata", template_key)
    before = json.loads(row.values)
    session.delete(row)
    session.execute(
        delete(MetadataValue).where(
            MetadataValue.item_id == item.id, MetadataValue.template_key == template.key
        )
    )
    session.flush()
    _reindex(session, item.id)
    events.record(
        session,
        actor,
        AuditAction.METADATA_REMOVED,
        item=_ref(item),
        details={"template": template.key, "before": before},
        at=clock.now(),
    )


def _editable_below(session: Session, actor: Actor, folder: Item) -> list[Item]:
    found: list[Item] = []
    frontier = [folder.id]
    while frontier and len(found) < MAX_CASCADE:
        children = list(
            session.scalars(select(Item).where(Item.parent_id.in_(frontier), Item.trashed_at.is_(None)))
        )
        found += [child for child in children if can(actor, Action.EDIT, ancestry(session, child))]
        frontier = [child.id for child in children if child.is_folder]
    return found[:MAX_CASCADE]


def _store(
    session: Session,
    actor: Actor,
    item: Item,
    template: MetadataTemplate,
    clean: dict[str, Any],
    *,
    clock: Clock,
) -> None:
    row = session.get(ItemMetadata, (item.id, template.id))
    before = json.loads(row.values) if row is not None else None
    if row is None:
        row = ItemMetadata(item_id=item.id, template_id=template.id)
        session.add(row)
    row.values = json.dumps(clean)
    row.updated_at = clock.now()
    row.updated_by_id = actor.user_id
    _write_values(session, item.id, template, clean)
    events.record(
        session,
        actor,
        AuditAction.METADATA_SET,
        item=_ref(item),
        details={"template": template.key, "before": before, "after": clean},
        at=clock.now(),
    )


def _write_values(
    session: Session, item_id: str, template: MetadataTemplate, clean: Mapping[str, Any]
) -> None:
    session.execute(
        delete(MetadataValue).where(
            MetadataValue.item_id == item_id, MetadataValue.template_key == template.key
        )
    )
    for key, value in clean.items():
        for one in value if isinstance(value, list) else [value]:
            number = float(one) if isinstance(one, int | float) else None
            session.add(
                MetadataValue(
                    item_id=item_id,
                    template_key=template.key,
                    field=key,
                    text_value=None if number is not None else str(one),
                    number_value=number,
                )
            )
    session.flush()
    _reindex(session, item_id)


def _reindex(session: Session, item_id: str) -> None:
    words = [
        " ".join(str(v) for v in (value if isinstance(value, list) else [value]))
        for values in _values_of(session, item_id).values()
        for value in values.values()
    ]
    index_text(session, item_id, "metadata", "\n".join(words) or None)


def copy_metadata(session: Session, source_id: str, target_id: str) -> None:
    """A copy carries its original's metadata (content.files calls this for every item it copies)."""
    for row in session.scalars(select(ItemMetadata).where(ItemMetadata.item_id == source_id)):
        template = session.get(MetadataTemplate, row.template_id)
        if template is None:
            continue
        session.add(
            ItemMetadata(
                item_id=target_id,
                template_id=row.template_id,
                values=row.values,
                updated_at=row.updated_at,
                updated_by_id=row.updated_by_id,
            )
        )
        session.flush()
        _write_values(session, target_id, template, json.loads(row.values))


if copy_metadata not in content_files.COPY_LISTENERS:
    content_files.COPY_LISTENERS.append(copy_metadata)
