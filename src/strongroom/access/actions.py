"""The vocabulary of permissions: actions on items, and the roles that bundle them."""

from enum import StrEnum


class Action(StrEnum):
    """Something an actor does to an item. Read actions are split so preview-only can be enforced:
    PREVIEW shows content in the browser (renditions), DOWNLOAD returns the original bytes."""

    SEE = "see"  # know it exists: metadata, listing
    PREVIEW = "preview"
    DOWNLOAD = "download"
    UPLOAD = "upload"  # add new files or versions
    EDIT = "edit"  # rename, move within, lock, restore versions
    DELETE = "delete"  # move to trash, restore from trash, purge
    SHARE = "share"  # create links and grants
    MANAGE = "manage"  # change the owner-level settings, co-owner grants


class Role(StrEnum):
    """Roles, weakest to strongest, as a force's staff know them from commercial content services."""

    UPLOADER = "uploader"
    PREVIEWER = "previewer"
    VIEWER = "viewer"
    PREVIEWER_UPLOADER = "previewer-uploader"
    VIEWER_UPLOADER = "viewer-uploader"
    EDITOR = "editor"
    CO_OWNER = "co-owner"
    OWNER = "owner"


_VIEW = {Action.SEE, Action.PREVIEW, Action.DOWNLOAD}
_EDIT = _VIEW | {Action.UPLOAD, Action.EDIT, Action.DELETE, Action.SHARE}

ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    # An uploader sees the folder it drops files into, never its contents' bytes.
    Role.UPLOADER: frozenset({Action.SEE, Action.UPLOAD}),
    Role.PREVIEWER: frozenset({Action.SEE, Action.PREVIEW}),
    Role.VIEWER: frozenset(_VIEW),
    Role.PREVIEWER_UPLOADER: frozenset({Action.SEE, Action.PREVIEW, Action.UPLOAD}),
    Role.VIEWER_UPLOADER: frozenset(_VIEW | {Action.UPLOAD}),
    Role.EDITOR: frozenset(_EDIT),
    Role.CO_OWNER: frozenset(_EDIT | {Action.MANAGE}),
    Role.OWNER: frozenset(set(Action)),
}


class OrgAction(StrEnum):
    """Something done to the organisation rather than to one item; decided by the account's role."""

    READ_AUDIT = "read_audit"  # the audit trail, access reports, custody reports, proofs
    ADMINISTER = "administer"  # accounts, groups, roles, checkpoints, forced sign-out
    SEE_DIRECTORY = "see_directory"  # list the force's groups and people to share with


class AccountRole(StrEnum):
    """An account's role in the force, weakest to strongest."""

    GUEST = "guest"  # external: sees only what is shared with them, owns nothing, sees no directory
    USER = "user"
    AUDITOR = "auditor"  # reads the audit trail and reports; changes nothing it does not own
    ADMIN = "admin"


ROLE_ORG_ACTIONS: dict[AccountRole, frozenset[OrgAction]] = {
    AccountRole.GUEST: frozenset(),
    AccountRole.USER: frozenset({OrgAction.SEE_DIRECTORY}),
    AccountRole.AUDITOR: frozenset({OrgAction.SEE_DIRECTORY, OrgAction.READ_AUDIT}),
    AccountRole.ADMIN: frozenset(set(OrgAction)),
}
