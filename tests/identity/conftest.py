"""Fixtures for single sign-on: the real providers (started once per test session) and a live
Strongroom on a port fixed for the session, because the providers know its redirect URLs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import RSAKey
from sqlalchemy import select

from strongroom.actors import Actor
from strongroom.audit.models import AuditEvent
from strongroom.db.session import transaction
from strongroom.identity import directory
from strongroom.runtime import Runtime
from tests.support import sso_providers
from tests.support.live import LiveServer, free_port, start_live_server

OIDC_ACCOUNTS: dict[str, dict[str, object]] = {
    "alice": {
        "email": "alice@force.police.test",
        "email_verified": True,
        "name": "Alice Smith",
        "groups": ["CID", "Major Crime"],
    },
    "bob-unverified": {"email": "bob@force.police.test", "email_verified": False, "name": "Bob"},
    "bob-verified": {"email": "bob@force.police.test", "email_verified": True, "name": "Bob"},
}


@pytest.fixture(scope="session")
def app_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def app_url(app_port: int) -> str:
    return f"http://127.0.0.1:{app_port}"


@pytest.fixture(scope="session")
def oidc_signing_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "provider-key-1"})


@pytest.fixture(scope="session")
def oidc_provider(
    tmp_path_factory: pytest.TempPathFactory, app_url: str, oidc_signing_key: RSAKey
) -> Iterator[sso_providers.RunningProvider]:
    missing = sso_providers.oidc_missing()
    if missing:
        pytest.fail(f"single sign-on tests need {missing}")
    log = tmp_path_factory.mktemp("oidc") / "oidc-provider.log"
    provider = sso_providers.start_oidc_provider(
        port=free_port(), app_url=app_url, signing_key=oidc_signing_key, accounts=OIDC_ACCOUNTS, log=log
    )
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def saml_idp_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("simplesamlphp")


@pytest.fixture(scope="session")
def saml_idp(saml_idp_dir: Path, app_url: str) -> Iterator[sso_providers.RunningProvider]:
    missing = sso_providers.saml_missing()
    if missing:
        pytest.fail(f"single sign-on tests need {missing}")
    port = free_port()
    sso_providers.write_simplesamlphp_config(
        saml_idp_dir, idp_url=f"http://127.0.0.1:{port}", app_url=app_url
    )
    provider = sso_providers.start_simplesamlphp(
        port=port, config_dir=saml_idp_dir, log=saml_idp_dir / "php.log"
    )
    yield provider
    provider.stop()


@pytest.fixture
def sso_server(app: FastAPI, app_port: int) -> Iterator[LiveServer]:
    server = start_live_server(app, port=app_port)
    yield server
    server.stop()


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    """httpx playing a browser: cookies kept, redirects followed by hand."""
    with sso_providers.browser_client() as client:
        yield client


def audit_events(runtime: Runtime, action: str) -> list[dict[str, Any]]:
    with runtime.sessions() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
        return [
            {"label": row.actor_label, "item": row.item_name, "details": json.loads(row.details)}
            for row in rows
        ]


@pytest.fixture
def provisioning_token(runtime: Runtime) -> str:
    with transaction(runtime.sessions) as session:
        return directory.issue_provisioning_token(
            session, Actor.system(label="tests"), name="entra", clock=runtime.clock
        )


@pytest.fixture
def scim_headers(provisioning_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {provisioning_token}", "Content-Type": "application/scim+json"}
