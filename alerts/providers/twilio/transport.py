"""SMS through Twilio's Messages API with the real `twilio` SDK.

One SDK client per thread: each keeps its own keep-alive connection (Twilio has no bulk
send, so throughput is concurrent single sends) and remembers its last response's
Retry-After without sharing it across threads.

Twilio has no idempotency key for sending. A request whose answer was lost may have been
accepted, so before sending again we list the messages to that number since the delivery
was queued and adopt one carrying our text (`find_accepted`). The window left: Twilio's
list is not guaranteed to show a message the instant it is accepted; a message accepted
and not yet listed would be sent twice. Status callbacks of both would then name the
same Delivery, and the second SID is recorded in last_error for follow-up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlencode
from urllib.request import getproxies

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from alerts.delivery.transports import OneTap, Transport, TransportError, retry_after_seconds

# The SDK logs every request at INFO, URLs included (a message look-up URL carries the
# phone number): never let personal data reach the logs (DESIGN decision 9).
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

# Twilio error codes that no retry can fix: invalid or unreachable numbers, a recipient who
# replied STOP, a region we may not send to. (Any other 4xx but 429 is final too.)
PERMANENT_CODES = {21211, 21214, 21408, 21610, 21612, 21614, 30003, 30005, 30006}


class _RememberingHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, keeping the last answer's Retry-After for our retry policy."""

    retry_after: str | None = None

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        self.retry_after = (response.headers or {}).get("Retry-After")
        return response


def status_callback_url(key: str) -> str:
    """Where Twilio reports each message's status: always set, so every Delivery learns
    whether it arrived. The key names the delivery even before we know the SID."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/hooks/twilio/status?{urlencode({'key': key})}"


class TwilioSms(Transport):
    channel = "sms"
    max_recipients = 1

    def __init__(self) -> None:
        self._local = threading.local()
        self.timeout = settings.ALERTS_HTTP_TIMEOUT_S

    def client(self) -> Client:
        client = getattr(self._local, "client", None)
        if client is None:
            # Proxies read from the environment once, not on every request (requests scans
            # os.environ per request otherwise: ~18% of a send's CPU in a fan-out).
            http = _RememberingHttpClient(
                pool_connections=True, timeout=self.timeout, proxy=getproxies() or None
            )
            http.session.trust_env = False
            client = Client(
                settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http
            )
            if settings.TWILIO_BASE_URL:
                client.api.base_url = settings.TWILIO_BASE_URL
            self._local.client = client
        return client

    def send(
        self,
        to: Sequence[str],
        text: str,
        *,
        idempotency_key: str,
        answers: Sequence[OneTap] = (),  # no buttons in an SMS: the text asks for a digit
    ) -> str:
        (number,) = to
        client = self.client()
        try:
            message = client.messages.create(
                to=number,
                from_=settings.TWILIO_FROM_NUMBER,
                body=text,
                status_callback=status_callback_url(idempotency_key),
                # A level-4 order that could not go out within this window is stale.
                validity_period=settings.ALERTS_SMS_VALIDITY_S,
            )
        except TwilioRestException as error:
            raise self._error(error, client) from error
        except (requests.ConnectTimeout, requests.exceptions.SSLError) as error:
            # Never reached Twilio: safe to send again without looking.
            raise TransportError(f"Twilio unreachable: {type(error).__name__}") from error
        except requests.RequestException as error:
            raise TransportError(
                f"Twilio answer lost: {type(error).__name__}", ambiguous=True
            ) from error
        return message.sid

    def _error(self, error: TwilioRestException, client: Client) -> TransportError:
        if error.status == 429:
            return TransportError(
                "Twilio rate limit (429)",
                retry_after=retry_after_seconds(client.http_client.retry_after),
            )
        if error.status >= 500:
            return TransportError(f"Twilio error {error.status}")
        permanent = error.code in PERMANENT_CODES or 400 <= error.status < 500
        return TransportError(f"Twilio error {error.code or error.status}", permanent=permanent)

    def find_accepted(self, to: Sequence[str], text: str, since: datetime) -> str | None:
        (number,) = to
        try:
            messages = self.client().messages.list(
                to=number, from_=settings.TWILIO_FROM_NUMBER, limit=50
            )
        except (TwilioRestException, requests.RequestException) as error:
            raise TransportError(f"Twilio look-up failed: {type(error).__name__}") from error
        for message in messages:
            created = message.date_created
            if message.body == text and (
                created is None or created >= since.replace(microsecond=0)
            ):
                return message.sid
        return None
