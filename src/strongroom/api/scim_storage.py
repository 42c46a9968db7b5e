"""SCIM resources ↔ Strongroom users and groups: the storage that scim2-server's protocol handler calls.

scim2-server parses requests, applies PATCH operations, checks ETags and shapes the answers; this
module reads and writes through `identity.directory`, inside the request's one transaction. Searches
that compare userName, externalId, displayName, emails or id with `eq` (what Entra ID and Okta send)
run in SQL; any other filter is evaluated by scim2-models over the resources of that type.
"""

import json
from typing import Any, cast

from scim2_models import (
    ConflictException,
    Context,
    ForbiddenException,
    InvalidValueException,
    Meta,
    NotFoundException,
    PreconditionFailedException,
    Resource,
    ResourceType,
    ResponseParameters,
    SearchRequest,
    UniquenessException,
)
from scim2_models.path import CompareOperator, Comparison
from scim2_server.service import ScimService
from scim2_server.storage import ScimStorage, SearchPage
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from strongroom.actors import Actor
from strongroom.clock import Clock
from strongroom.content import departures
from strongroom.content import folders as content_folders
from strongroom.errors import (
    Conflict,
    InputError,
    LastAdmin,
    NotFound,
    NotManagedByDirectory,
    VersionChanged,
)
from strongroom.identity import directory, users
from strongroom.identity.models import Group, GroupMember, User

# Attributes the server computes or never keeps: not stored in `scim_data`.
_NOT_STORED = {"id", "meta", "password", "groups", "schemas"}
_CORE_URNS = {
    None,
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:core:2.0:Group",
}


def _version(value: str | None) -> int | None:
    """The integer behind an ETag such as W/"7"; None when absent, -1 when it cannot be ours."""
    if value is None:
        return None
    digits = value.removeprefix("W/").strip('"')
    return int(digits) if digits.isdigit() else -1


def _etag(version: int) -> str:
    return f'W/"{version}"'


def _kept(resource: Resource[Any]) -> str:
    data = resource.model_dump(scim_ctx=Context.DEFAULT)
    return json.dumps({k: v for k, v in data.items() if k not in _NOT_STORED})


class DirectoryStorage(ScimStorage):
    """One request's view of users and groups for the SCIM door."""

    def __init__(self, session: Session, actor: Actor, *, clock: Clock, service: ScimService) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock
        self.service = service
        self.discarded_blobs: list[str] = []  # unfinished uploads of deactivated users, removed after commit

    # -- conversions ---------------------------------------------------------------------------

    def _model(self, resource_type: ResourceType) -> type[Resource[Any]]:
        return self.service.get_model(resource_type)

    def _user_resource(self, model: type[Resource[Any]], user: User) -> Resource[Any]:
        data: dict[str, Any] = json.loads(user.scim_data) if user.scim_data else {}
        if not user.scim_data:
            data["emails"] = [{"value": user.email, "primary": True}]
            data["displayName"] = user.display_name
        data |= {"id": user.id, "userName": user.user_name or user.email}
        # A disabled account is inactive whatever was sent; otherwise `active` is served as the directory
        # left it (set, or removed by a PATCH), and local accounts are active.
        if user.disabled_at is not None:
            data["active"] = False
        elif "active" in data or not user.scim_data:
            data["active"] = True
        if user.external_id is not None:
            data["externalId"] = user.external_id
        resource = model.model_validate(data)
        resource.meta = Meta(
            resource_type="User",
            created=user.created_at,
            last_modified=user.updated_at or user.created_at,
            version=_etag(user.version),
        )
        return resource

    def _group_resource(self, model: type[Resource[Any]], group: Group) -> Resource[Any]:
        data: dict[str, Any] = json.loads(group.scim_data) if group.scim_data else {}
        current = set(
            self.session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group.id))
        )
        # Members as the directory sent them (with its `display`), less those gone since, plus any added here.
        sent = [m for m in data.get("members") or [] if m.get("value") in current]
        listed = {m["value"] for m in sent}
        members = sent + [{"value": uid, "type": "User"} for uid in sorted(current - listed)]
        for member in members:
            member["$ref"] = f"Users/{member['value']}"
        data |= {"id": group.id, "displayName": group.name}
        data.pop("members", None)
        if members:
            data["members"] = members
        if group.external_id is not None:
            data["externalId"] = group.external_id
        resource = model.model_validate(data)
        resource.meta = Meta(
            resource_type="Group",
            created=group.created_at,
            last_modified=group.updated_at or group.created_at,
            version=_etag(group.version),
        )
        return resource

    def _resource(self, resource_type: ResourceType, row: User | Group) -> Resource[Any]:
        model = self._model(resource_type)
        if isinstance(row, User):
            return self._user_resource(model, row)
        return self._group_resource(model, row)

    @staticmethod
    def _directory_user(resource: Resource[Any]) -> directory.DirectoryUser:
        user = cast("Any", resource)
        emails = list(user.emails or [])
        primary = next((e for e in emails if e.primary), emails[0] if emails else None)
        return directory.DirectoryUser(
            user_name=str(user.user_name or ""),
            external_id=user.external_id,
            email=str(primary.value) if primary is not None and primary.value else None,
            display_name=user.display_name,
            active=user.active is not False,
            data=_kept(resource),
        )

    @staticmethod
    def _directory_group(resource: Resource[Any]) -> directory.DirectoryGroup:
        group = cast("Any", resource)
        members = []
        for member in group.members or []:
            if member.type not in (None, "User"):
                raise InvalidValueException(detail="Only users can be members of a group here.")
            members.append(str(member.value))
        return directory.DirectoryGroup(
            display_name=str(group.display_name or ""),
            external_id=group.external_id,
            member_ids=frozenset(members),
            data=_kept(resource),
        )

    # -- ScimStorage ------------------------------------------------------------------------

    def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,  # noqa: ARG002 - projection is the server's
    ) -> Resource[Any]:
        with _translated():
            if resource_type.name == "User":
                return self._resource(resource_type, directory.served_user(self.session, resource_id))
            return self._resource(resource_type, directory.served_group(self.session, resource_id))

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        with _translated():
            if resource_type.name == "User":
                entry = self._directory_user(resource)
                user = directory.create_user(self.session, self.actor, entry, clock=self.clock)
                content_folders.create_root_folder(self.session, user, clock=self.clock)
                row: User | Group = user
            else:
                group_entry = self._directory_group(resource)
                row = directory.create_group(self.session, self.actor, group_entry, clock=self.clock)
            self.session.flush()
            return self._resource(resource_type, row)

    def update(
        self, resource_type: ResourceType, resource: Resource[Any], *, expected_version: str | None = None
    ) -> Resource[Any]:
        expected = _version(expected_version)
        with _translated():
            if resource_type.name == "User":
                entry = self._directory_user(resource)
                row, deactivated = directory.update_user(
                    self.session, self.actor, str(resource.id), entry, expected=expected, clock=self.clock
                )
                if deactivated:
                    self._end_work(row.id)
                self.session.flush()
                return self._resource(resource_type, row)
            group_entry = self._directory_group(resource)
            group = directory.update_group(
                self.session, self.actor, str(resource.id), group_entry, expected=expected, clock=self.clock
            )
            self.session.flush()
            return self._resource(resource_type, group)

    def delete(
        self, resource_type: ResourceType, resource_id: str, *, expected_version: str | None = None
    ) -> None:
        expected = _version(expected_version)
        with _translated():
            if resource_type.name == "User":
                user = directory.delete_user(
                    self.session, self.actor, resource_id, expected=expected, clock=self.clock
                )
                self._end_work(user.id)
            else:
                directory.delete_group(
                    self.session, self.actor, resource_id, expected=expected, clock=self.clock
                )

    def _end_work(self, user_id: str) -> None:
        self.discarded_blobs += departures.end_work_of(
            self.session, self.actor, user_id=user_id, clock=self.clock
        )

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,  # noqa: ARG002 - cursors are not announced
    ) -> SearchPage:
        if len(resource_types) != 1:
            found: list[Resource[Any]] = []
            for resource_type in resource_types:
                found += self._search_all(resource_type, search_request)
            return _page(search_request, found)
        resource_type = resource_types[0]
        query = self._sql_query(resource_type, search_request)
        if query is None:
            return _page(search_request, self._search_all(resource_type, search_request))
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        start = search_request.start_index_0 or 0
        if search_request.count == 0:
            return SearchPage(total, [])
        page = query.order_by("created_at", "id").offset(start)
        if search_request.count is not None:
            page = page.limit(search_request.count)
        rows = self.session.scalars(page).all()
        return SearchPage(total, [self._resource(resource_type, row) for row in rows])

    def _base(self, resource_type: ResourceType) -> Select[Any]:
        if resource_type.name == "User":
            return select(User).where(User.source != directory.REMOVED)
        return select(Group)

    def _sql_query(
        self, resource_type: ResourceType, search_request: SearchRequest[Any]
    ) -> Select[Any] | None:
        """The search as SQL, when its filter is one `eq` on an indexed attribute (or there is none)."""
        base = self._base(resource_type)
        scim_filter = search_request.filter
        if scim_filter is None:
            return base
        node = scim_filter.ast
        if (
            not isinstance(node, Comparison)
            or node.op != CompareOperator.eq
            or not isinstance(node.value, str)
        ):
            return None
        path = node.attr_path
        if path.uri not in _CORE_URNS:
            return None
        name = (path.attr + ("." + path.sub_attr if path.sub_attr else "")).casefold()
        value: str = node.value
        if resource_type.name == "User":
            key = users.email_key(value)
            clauses: dict[str, Any] = {
                "id": User.id == value,
                "externalid": User.external_id == value,
                "username": or_(
                    User.user_name_key == key, User.user_name_key.is_(None) & (User.email_key == key)
                ),
                "emails": User.email_key == key,
                "emails.value": User.email_key == key,
                "displayname": func.lower(User.display_name) == value.lower(),
            }
        else:
            clauses = {
                "id": Group.id == value,
                "externalid": Group.external_id == value,
                "displayname": Group.name_key == value.casefold(),
            }
        clause = clauses.get(name)
        return None if clause is None else base.where(clause)

    def _search_all(
        self, resource_type: ResourceType, search_request: SearchRequest[Any]
    ) -> list[Resource[Any]]:
        rows = self.session.scalars(self._base(resource_type).order_by("created_at", "id")).all()
        resources = [self._resource(resource_type, row) for row in rows]
        scim_filter = search_request.filter
        if scim_filter is None:
            return resources
        return [r for r in resources if scim_filter.match(r)]


def _page(search_request: SearchRequest[Any], found: list[Resource[Any]]) -> SearchPage:
    start = search_request.start_index_0 or 0
    stop = None if search_request.count is None else start + search_request.count
    return SearchPage(len(found), found[start:stop])


class _translated:  # noqa: N801 - used as a context manager, reads as a phrase
    """Domain errors become the SCIM errors scim2-server answers with (RFC 7644 section 3.12): an
    account the directory does not manage is 403 (no scimType: the request is not permitted, however
    it is phrased); the last administrator is 409 (no scimType: not a uniqueness clash)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            return
        # SCIM's Error has no room for our stable code (strict clients refuse extra members), so the
        # detail starts with it.
        if isinstance(exc, NotManagedByDirectory):
            raise ForbiddenException(detail=f"{exc.code}: {exc.message}") from exc
        if isinstance(exc, LastAdmin):
            raise ConflictException(detail=f"{exc.code}: {exc.message}") from exc
        if isinstance(exc, NotFound):
            raise NotFoundException(detail=str(exc)) from exc
        if isinstance(exc, VersionChanged):
            raise PreconditionFailedException(detail=str(exc)) from exc
        if isinstance(exc, Conflict):
            raise UniquenessException(detail=str(exc)) from exc
        if isinstance(exc, InputError):
            raise InvalidValueException(detail=str(exc)) from exc
