"""Fixtures for identity tests: a provisioning token for the SCIM door."""

from __future__ import annotations

import pytest

from strongroom.actors import Actor
from strongroom.db.session import transaction
from strongroom.identity import directory
from strongroom.runtime import Runtime


@pytest.fixture
def provisioning_token(runtime: Runtime) -> str:
    with transaction(runtime.sessions) as session:
        return directory.issue_provisioning_token(
            session, Actor.system(label="tests"), name="entra", clock=runtime.clock
        )


@pytest.fixture
def scim_headers(provisioning_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {provisioning_token}", "Content-Type": "application/scim+json"}
