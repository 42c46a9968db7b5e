"""Sharing tests: a runtime with an adjustable clock and a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.config import Settings
from strongroom.runtime import Runtime
from tests.support.clock import AdjustableClock
from tests.support.smtp import MailSink, smtp

__all__ = ["smtp"]


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp: MailSink) -> Settings:
    return Settings(
        dev_mode=True,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-not-for-production",
        database={"url": database_url, "pool_size": 5},  # type: ignore[arg-type]
        limits={"segment_bytes": 64 * 1024, "max_upload_bytes": 64 * 1024 * 1024},  # type: ignore[arg-type]
        mail={"host": smtp.host, "port": smtp.port, "sender": "strongroom@force.police.test"},  # type: ignore[arg-type]
    )


@pytest.fixture
def runtime(settings: Settings, clock: AdjustableClock) -> Iterator[Runtime]:
    rt = Runtime.build(settings, clock=clock)
    yield rt
    rt.close()
