"""Metadata: templates an administrator defines, and the values set on folders and files."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from strongroom.api.deps import CurrentActor, RuntimeDep
from strongroom.db.session import transaction
from strongroom.search import templates
from strongroom.search.models import MetadataTemplate

router = APIRouter(tags=["metadata"])


class TemplateField(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Annotated[str, Field(max_length=64, examples=["urn"])]
    label: Annotated[str, Field(max_length=200, examples=["URN"])] = ""
    type: Annotated[str, Field(max_length=16, examples=["text"])]
    required: bool = False
    options: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=200)


class TemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Annotated[str, Field(max_length=64, examples=["case"])]
    name: Annotated[str, Field(max_length=200, examples=["Case"])]
    fields: list[TemplateField] = Field(max_length=50)


class TemplateChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str | None, Field(max_length=200)] = None
    fields: list[TemplateField] = Field(max_length=50)


class TemplateRead(BaseModel):
    key: str
    name: str
    revision: int
    fields: list[dict[str, Any]]

    @classmethod
    def of(cls, template: MetadataTemplate) -> "TemplateRead":
        return cls(
            key=template.key,
            name=template.name,
            revision=template.revision,
            fields=json.loads(template.fields),
        )


class MetadataSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[str, Any] = Field(max_length=50)
    cascade: bool = Field(default=False, description="Also set these values on everything below the folder.")


@router.post("/metadata-templates", status_code=201, response_model=TemplateRead)
def create_template(body: TemplateCreate, actor: CurrentActor, runtime: RuntimeDep) -> TemplateRead:
    """Define a template (administrators): typed fields of type text, number, date, enum or multi."""
    with transaction(runtime.sessions) as session:
        fields = [field.model_dump() for field in body.fields]
        template = templates.create_template(
            session, actor, key=body.key, name=body.name, fields=fields, clock=runtime.clock
        )
        return TemplateRead.of(template)


@router.get("/metadata-templates", response_model=list[TemplateRead])
def list_templates(_actor: CurrentActor, runtime: RuntimeDep) -> list[TemplateRead]:
    with transaction(runtime.sessions) as session:
        return [TemplateRead.of(template) for template in templates.list_templates(session)]


@router.put("/metadata-templates/{key}", response_model=TemplateRead)
def change_template(key: str, body: TemplateChange, actor: CurrentActor, runtime: RuntimeDep) -> TemplateRead:
    """Change a template's fields (administrators). Values already set are kept."""
    with transaction(runtime.sessions) as session:
        fields = [field.model_dump() for field in body.fields]
        template = templates.change_template(
            session, actor, key=key, name=body.name, fields=fields, clock=runtime.clock
        )
        return TemplateRead.of(template)


@router.get("/items/{item_id}/metadata", response_model=dict[str, dict[str, Any]])
def get_metadata(item_id: str, actor: CurrentActor, runtime: RuntimeDep) -> dict[str, dict[str, Any]]:
    """The item's metadata, by template key."""
    with transaction(runtime.sessions) as session:
        return templates.item_metadata(session, actor, item_id)


@router.put("/items/{item_id}/metadata/{template_key}", response_model=dict[str, Any])
def set_metadata(
    item_id: str, template_key: str, body: MetadataSet, actor: CurrentActor, runtime: RuntimeDep
) -> dict[str, Any]:
    """Set the item's values of a template (all of them: a field left out is cleared)."""
    with transaction(runtime.sessions) as session:
        return templates.set_metadata(
            session,
            actor,
            item_id=item_id,
            template_key=template_key,
            values=body.values,
            cascade=body.cascade,
            clock=runtime.clock,
        )


@router.delete("/items/{item_id}/metadata/{template_key}", status_code=204)
def remove_metadata(item_id: str, template_key: str, actor: CurrentActor, runtime: RuntimeDep) -> Response:
    with transaction(runtime.sessions) as session:
        templates.remove_metadata(
            session, actor, item_id=item_id, template_key=template_key, clock=runtime.clock
        )
    return Response(status_code=204)
