"""The console transport: the default when no provider credentials are configured.

It prints that a message went out without the address (DESIGN decision 9: phone numbers and
LINE ids never reach logs) and keeps the messages in memory for a development shell."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from alerts.delivery.transports import CONSOLE_ID_PREFIX, OneTap, Transport

log = logging.getLogger(__name__)


class ConsoleTransport(Transport):
    max_recipients = 500

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.outbox: list[tuple[tuple[str, ...], str]] = []

    def send(
        self,
        to: Sequence[str],
        text: str,
        *,
        idempotency_key: str,
        answers: Sequence[OneTap] = (),
    ) -> str:
        self.outbox.append((tuple(to), text))
        log.info("[%s → %d recipient(s)] %s", self.channel, len(to), text)
        return f"{CONSOLE_ID_PREFIX}{uuid.uuid4().hex}"
