"""Single sign-on rules that live in identity.sso, tested on the service: directory groups follow the
provider, local groups are left alone, assertion ids are accepted once, disabled accounts stay out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from strongroom.actors import Actor
from strongroom.db.session import transaction
from strongroom.errors import SignInRefused
from strongroom.identity import accounts, groups, sso
from strongroom.identity.models import Group, User
from strongroom.runtime import Runtime
from tests.support.users import UserFixture

PROFILE = sso.SsoProfile(
    protocol="oidc",
    provider="https://login.force.police.test",
    subject="00u1abcd",
    email="dana@force.police.test",
    email_verified=True,
    name="Dana Scully",
    groups=("CID", "Major Crime"),
)


def _sign_in(runtime: Runtime, profile: sso.SsoProfile) -> tuple[str, set[str]]:
    with transaction(runtime.sessions) as session:
        user, _ = sso.account_for(session, profile, trust_email=False, clock=runtime.clock)
        sso.sync_groups(session, user=user, names=profile.groups, source="oidc", clock=runtime.clock)
        names = {groups.get_group(session, gid).name for gid in groups.group_ids_of(session, user.id)}
        return user.id, names


def test_directory_groups_follow_the_provider_and_local_groups_stay(
    runtime: Runtime, admin: UserFixture
) -> None:
    user_id, names = _sign_in(runtime, PROFILE)
    assert names == {"CID", "Major Crime"}
    with transaction(runtime.sessions) as session:
        local = groups.create_group(session, admin.actor, name="Kestrel review team", clock=runtime.clock)
        user = sso.account_for(session, PROFILE, trust_email=False, clock=runtime.clock)[0]
        groups.add_member(session, admin.actor, group_id=local.id, user=user, clock=runtime.clock)
    again_id, names = _sign_in(runtime, sso.SsoProfile(**{**PROFILE.__dict__, "groups": ("CID", "Custody")}))
    assert again_id == user_id
    assert names == {"CID", "Custody", "Kestrel review team"}  # left Major Crime; the local group stays
    with runtime.sessions() as session:
        directory = session.scalars(select(Group.name).where(Group.external_id.is_not(None))).all()
    assert sorted(directory) == ["CID", "Custody", "Major Crime"]


def test_a_directory_group_never_takes_over_a_local_group_of_the_same_name(
    runtime: Runtime, admin: UserFixture
) -> None:
    with transaction(runtime.sessions) as session:
        groups.create_group(session, admin.actor, name="CID", clock=runtime.clock)
    _, names = _sign_in(runtime, PROFILE)
    assert names == {"CID (directory)", "Major Crime"}


def test_an_assertion_id_is_accepted_once(runtime: Runtime) -> None:
    expires = runtime.clock.now() + timedelta(minutes=5)
    with transaction(runtime.sessions) as session:
        sso.remember_assertion(session, assertion_id="_a1", expires_at=expires, clock=runtime.clock)
    with pytest.raises(SignInRefused) as caught, transaction(runtime.sessions) as session:
        sso.remember_assertion(session, assertion_id="_a1", expires_at=expires, clock=runtime.clock)
    assert caught.value.data["reason"] == "replayed"


def test_a_disabled_account_cannot_sign_in_by_sso(runtime: Runtime) -> None:
    user_id, _ = _sign_in(runtime, PROFILE)
    with transaction(runtime.sessions) as session:
        accounts.set_disabled(session, Actor.system(), user_id=user_id, disabled=True, clock=runtime.clock)
    with pytest.raises(SignInRefused) as caught, transaction(runtime.sessions) as session:
        sso.account_for(session, PROFILE, trust_email=False, clock=runtime.clock)
    assert caught.value.data["reason"] == "disabled"


def test_a_provider_without_an_email_cannot_make_an_account(runtime: Runtime) -> None:
    with pytest.raises(SignInRefused) as caught, transaction(runtime.sessions) as session:
        sso.account_for(
            session,
            sso.SsoProfile(**{**PROFILE.__dict__, "email": None}),
            trust_email=True,
            clock=runtime.clock,
        )
    assert caught.value.data["reason"] == "no_email"


def test_directory_groups_are_read_only_through_the_api(
    runtime: Runtime, client: TestClient, admin: UserFixture, bob: UserFixture
) -> None:
    _sign_in(runtime, PROFILE)
    with runtime.sessions() as session:
        cid = session.scalar(select(Group).where(Group.external_id == "CID"))
        assert cid is not None
        dana = session.scalar(select(User.id).where(User.email_key == "dana@force.police.test"))
    added = client.post(f"/api/v1/groups/{cid.id}/members", json={"email": bob.email}, headers=admin.headers)
    assert added.status_code == 403
    assert "directory" in added.json()["message"]
    removed = client.delete(f"/api/v1/groups/{cid.id}/members/{dana}", headers=admin.headers)
    assert removed.status_code == 403
    local = client.post("/api/v1/groups", json={"name": "Kestrel review team"}, headers=admin.headers)
    assert (
        client.post(
            f"/api/v1/groups/{local.json()['id']}/members", json={"email": bob.email}, headers=admin.headers
        ).status_code
        == 204
    )


def test_an_unusable_email_or_group_name_from_the_provider_is_not_kept(runtime: Runtime) -> None:
    with pytest.raises(SignInRefused) as caught, transaction(runtime.sessions) as session:
        sso.account_for(
            session,
            sso.SsoProfile(**{**PROFILE.__dict__, "email": "not an address"}),
            trust_email=False,
            clock=runtime.clock,
        )
    assert caught.value.data["reason"] == "bad_email"
    _, names = _sign_in(runtime, sso.SsoProfile(**{**PROFILE.__dict__, "groups": ("CID", "Admins\u202e")}))
    assert names == {"CID"}  # the name with a text-direction override is left out, not trusted


def test_without_single_sign_on_there_is_no_button_and_no_sso_pages(client: TestClient) -> None:
    assert "Sign in with" not in client.get("/login").text
    for path in ("/auth/oidc/start", "/auth/oidc/callback", "/auth/saml/start", "/auth/saml/metadata"):
        assert client.get(path, follow_redirects=False).status_code == 404
    assert client.post("/auth/saml/acs", data={"SAMLResponse": "x"}).status_code == 404
