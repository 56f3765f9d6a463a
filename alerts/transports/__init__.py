"""Transports (DESIGN decision 5): one contract, one module per provider.

`transport_for(channel)` picks the provider when its credentials are configured and the
console transport otherwise, so a development machine never needs Twilio or LINE.
"""

from __future__ import annotations

from django.conf import settings

from alerts.transports.base import (
    OneTap,
    Transport,
    TransportError,
    send_with_retries,
    sending_processes,
)
from alerts.transports.console import ConsoleTransport

__all__ = [
    "OneTap",
    "Transport",
    "TransportError",
    "send_with_retries",
    "sending_processes",
    "transport_for",
]


def transport_for(channel: str) -> Transport:
    """The transport for a channel ("sms" or "line"): the provider when configured, else console."""
    if channel == "sms" and settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN:
        from alerts.transports.twilio_sms import TwilioSms

        return TwilioSms()
    if channel == "line" and settings.LINE_CHANNEL_ACCESS_TOKEN:
        from alerts.transports.line import Line

        return Line()
    return ConsoleTransport(channel)
