"""The bot's answers to residents on LINE: text and quick replies, sent through the reply
API once the event's writes committed (a rolled-back event answers nothing)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from linebot.v3.messaging import QuickReply, QuickReplyItem

log = logging.getLogger(__name__)

QUICK_REPLY_MAX = 13  # LINE's limit on quick reply buttons
TEXT_MAX = 5000  # LINE's limit on a text message


@dataclass
class Answer:
    text: str
    choices: list[QuickReplyItem] = field(default_factory=list)

    def quick_reply(self) -> QuickReply | None:
        return QuickReply(items=self.choices[:QUICK_REPLY_MAX]) if self.choices else None


def reply(reply_token: str, answer: Answer) -> None:
    """Send a webhook answer through LINE's reply API once the event's writes committed."""
    from alerts.transports.line import Line

    def send() -> None:
        try:
            Line().reply(reply_token, answer.text[:TEXT_MAX], answer.quick_reply())
        except Exception:  # a lost reply must not undo what the resident did
            log.warning("LINE reply failed", exc_info=True)

    transaction.on_commit(send)
