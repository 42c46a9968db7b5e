"""A real SMTP server in-process (aiosmtpd) that keeps what it receives, for tests that read mail."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.support.live import free_port


@dataclass
class MailSink:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def wait_for(self, address: str, *, count: int = 1, timeout: float = 10) -> list[Message]:
        deadline = time.monotonic() + timeout
        while len(self.to(address)) < count:
            if time.monotonic() > deadline:
                msg = f"no mail to {address} within {timeout}s (got {[str(m['To']) for m in self.messages]})"
                raise AssertionError(msg)
            time.sleep(0.02)
        return self.to(address)

    @staticmethod
    def body(message: Message) -> str:
        payload = message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload.decode()

    def code_for(self, address: str, *, nth: int = -1) -> str:
        """The 6-digit code in the latest (or nth) mail to `address`."""
        message = self.wait_for(address, count=1 if nth == -1 else nth + 1)[nth]
        found = re.search(r"\b(\d{6})\b", self.body(message))
        assert found, self.body(message)
        return found.group(1)


@pytest.fixture
def smtp() -> Iterator[MailSink]:
    sink = MailSink(port=free_port())
    # aiosmtpd 1.4.6 does not accept port=0: pick a free port first (COMPONENTS.md §7).
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()
