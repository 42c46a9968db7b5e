"""An in-process SMTP server (aiosmtpd) that keeps what it receives, for one-time codes and receipts."""

from __future__ import annotations

import re
import socket
import time
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def wait_for_code(self, to: str, *, timeout: float = 15) -> str:
        """The newest six-or-more digit code mailed to `to`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.messages):
                if to.lower() in str(message["To"]).lower():
                    body = message.get_body(preferencelist=("plain", "html"))
                    match = re.search(r"\b(\d{6,8})\b", body.get_content() if body else "")
                    if match:
                        return match.group(1)
            time.sleep(0.1)
        msg = f"no code was mailed to {to}; got {[m['To'] for m in self.messages]}"
        raise AssertionError(msg)


def start_sink() -> tuple[Controller, Sink]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, sink
