"""can() over roles x actions, with grants to users and groups inherited down the tree, and link actors."""

from __future__ import annotations

import pytest

from strongroom.access.actions import ROLE_ACTIONS, Action, Role
from strongroom.access.loaders import access_item, ancestry
from strongroom.access.policy import can
from strongroom.actors import Actor, ActorKind
from strongroom.content import folders as content_folders
from strongroom.content.models import Item
from strongroom.db.session import transaction
from strongroom.errors import NotAllowed, NotFound
from strongroom.identity import groups, users
from strongroom.runtime import Runtime
from strongroom.sharing import collaborations, shared_links
from strongroom.sharing.schemas import SharedLinkCreate
from tests.support.users import UserFixture


def make_tree(runtime: Runtime, owner: UserFixture) -> tuple[str, str]:
    """case/ → case/sub/ ; returns (case id, sub id)."""
    with transaction(runtime.sessions) as session:
        case = content_folders.create_folder(
            session, owner.actor, parent_id=owner.root_id, name="Case 1", clock=runtime.clock
        )
        sub = content_folders.create_folder(
            session, owner.actor, parent_id=case.id, name="Exhibits", clock=runtime.clock
        )
        return case.id, sub.id


def actor_of(runtime: Runtime, user: UserFixture) -> Actor:
    """The actor as authentication builds it: with the user's current groups."""
    with transaction(runtime.sessions) as session:
        found = users.get_user_by_email(session, user.email)
        assert found is not None
        return users.actor_for(found, group_ids=groups.group_ids_of(session, found.id))


def allowed(runtime: Runtime, actor: Actor, item_id: str) -> set[Action]:
    with transaction(runtime.sessions) as session:
        chain = ancestry(session, session.get_one(Item, item_id))
        return {action for action in Action if can(actor, action, chain)}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_grants_exactly_its_actions_on_the_item_and_below(
    runtime: Runtime, alice: UserFixture, bob: UserFixture, role: Role
) -> None:
    case, sub = make_tree(runtime, alice)
    assert allowed(runtime, bob.actor, case) == set()
    with transaction(runtime.sessions) as session:
        bob_user = users.get_user_by_email(session, bob.email)
        collaborations.grant_role(
            session, alice.actor, item_id=case, role=role, user=bob_user, clock=runtime.clock
        )
    assert allowed(runtime, bob.actor, case) == set(ROLE_ACTIONS[role])
    assert allowed(runtime, bob.actor, sub) == set(ROLE_ACTIONS[role])  # inherited
    # Nothing above the grant: alice's root stays invisible to bob.
    assert allowed(runtime, bob.actor, alice.root_id) == set()


def test_preview_roles_cannot_download(runtime: Runtime) -> None:
    assert Action.DOWNLOAD not in ROLE_ACTIONS[Role.PREVIEWER]
    assert Action.DOWNLOAD not in ROLE_ACTIONS[Role.PREVIEWER_UPLOADER]
    assert Action.PREVIEW not in ROLE_ACTIONS[Role.UPLOADER]


def test_group_grant_applies_to_members_only_while_they_are_members(
    runtime: Runtime, alice: UserFixture, bob: UserFixture, admin: UserFixture
) -> None:
    case, sub = make_tree(runtime, alice)
    with transaction(runtime.sessions) as session:
        cps = groups.create_group(session, admin.actor, name="CPS reviewers", clock=runtime.clock)
        group_id = cps.id
        bob_user = users.get_user_by_email(session, bob.email)
        assert bob_user is not None
        groups.add_member(session, admin.actor, group_id=group_id, user=bob_user, clock=runtime.clock)
        collaborations.grant_role(
            session, alice.actor, item_id=case, role=Role.VIEWER, group_id=group_id, clock=runtime.clock
        )
    assert allowed(runtime, actor_of(runtime, bob), sub) == set(ROLE_ACTIONS[Role.VIEWER])
    assert allowed(runtime, bob.actor, sub) == set()  # an actor built without groups gets nothing from them
    with transaction(runtime.sessions) as session:
        groups.remove_member(session, admin.actor, group_id=group_id, user_id=bob.id, clock=runtime.clock)
    assert allowed(runtime, actor_of(runtime, bob), sub) == set()


def test_invisible_items_answer_not_found(runtime: Runtime, alice: UserFixture, bob: UserFixture) -> None:
    case, _ = make_tree(runtime, alice)
    with transaction(runtime.sessions) as session, pytest.raises(NotFound):
        access_item(session, bob.actor, case, Action.SEE)


def test_only_managers_hand_out_co_owner(
    runtime: Runtime, alice: UserFixture, bob: UserFixture, admin: UserFixture
) -> None:
    case, _ = make_tree(runtime, alice)
    with transaction(runtime.sessions) as session:
        bob_user = users.get_user_by_email(session, bob.email)
        admin_user = users.get_user_by_email(session, admin.email)
        collaborations.grant_role(
            session, alice.actor, item_id=case, role=Role.EDITOR, user=bob_user, clock=runtime.clock
        )
    with transaction(runtime.sessions) as session, pytest.raises(NotAllowed):
        collaborations.grant_role(
            session, bob.actor, item_id=case, role=Role.CO_OWNER, user=admin_user, clock=runtime.clock
        )


def test_non_admins_cannot_manage_groups(runtime: Runtime, bob: UserFixture) -> None:
    with transaction(runtime.sessions) as session, pytest.raises(NotFound):
        groups.create_group(session, bob.actor, name="mine", clock=runtime.clock)


def test_link_actor_reaches_its_item_and_below_only(runtime: Runtime, alice: UserFixture) -> None:
    case, sub = make_tree(runtime, alice)
    settings = runtime.settings
    with transaction(runtime.sessions) as session:
        full, _ = shared_links.create_shared_link(
            session,
            alice.actor,
            item_id=sub,
            options=SharedLinkCreate(),
            settings=settings.sharing,
            mail=settings.mail,
            clock=runtime.clock,
        )
        preview, _ = shared_links.create_shared_link(
            session,
            alice.actor,
            item_id=sub,
            options=SharedLinkCreate(preview_only=True),
            settings=settings.sharing,
            mail=settings.mail,
            clock=runtime.clock,
        )
        full_id, preview_id = full.id, preview.id
    full_actor = Actor(kind=ActorKind.LINK, id=full_id, label="anonymous")
    preview_actor = Actor(kind=ActorKind.LINK, id=preview_id, label="anonymous")
    assert allowed(runtime, full_actor, sub) == {Action.SEE, Action.PREVIEW, Action.DOWNLOAD}
    assert allowed(runtime, preview_actor, sub) == {Action.SEE, Action.PREVIEW}
    assert allowed(runtime, full_actor, case) == set()  # not above the link's item
    assert allowed(runtime, Actor(kind=ActorKind.LINK, id="sl_missing", label="x"), sub) == set()
    with transaction(runtime.sessions) as session:
        shared_links.revoke_shared_link(session, alice.actor, link_id=full_id, clock=runtime.clock)
    assert allowed(runtime, full_actor, sub) == set()
    assert allowed(runtime, Actor(kind=ActorKind.ANONYMOUS, id=None, label="anonymous"), sub) == set()
    assert allowed(runtime, Actor.system(), case) == set(Action)
