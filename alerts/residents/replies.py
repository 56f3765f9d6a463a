"""The bot's answers to residents on LINE: text and quick replies (the LINE webhook sends
them through the reply API, `alerts.providers.line.webhook`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from linebot.v3.messaging import QuickReply, QuickReplyItem

QUICK_REPLY_MAX = 13  # LINE's limit on quick reply buttons
TEXT_MAX = 5000  # LINE's limit on a text message


@dataclass
class Answer:
    text: str
    choices: list[QuickReplyItem] = field(default_factory=list)

    def quick_reply(self) -> QuickReply | None:
        return QuickReply(items=self.choices[:QUICK_REPLY_MAX]) if self.choices else None
