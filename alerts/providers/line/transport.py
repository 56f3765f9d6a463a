"""LINE Messaging API with the real `line-bot-sdk` v3.

Multicast sends one text to up to 500 user ids per request (MulticastRequest.to maxItems
in the Messaging API spec). Every request carries an `X-Line-Retry-Key` (a UUID chosen per
batch and stored before the first attempt): LINE accepts a key once and answers 409 with
the accepted request's id to any retry, so resending after a lost answer or a killed
worker never delivers twice. That is why `find_accepted` is not needed here.
One-tap answers (the safety check's) go out as quick-reply postback buttons on the text.

LINE limits multicast to 200 requests per second per channel (pushes to 2,000): every
request of this process waits for its slot at ALERTS_LINE_MAX_RPS divided among the
processes sending LINE at once (`sending_processes`), and a 429 pauses them all.
"""

from __future__ import annotations

from collections.abc import Sequence

import urllib3
from django.conf import settings
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    MulticastRequest,
    PostbackAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    TextMessage,
)

from alerts.delivery.transports import (
    OneTap,
    Pace,
    Transport,
    TransportError,
    retry_after_seconds,
    sending_processes,
)

MULTICAST_MAX = 500
# One schedule for every Line transport of this process: the fan-out's threads share it.
PACE = Pace()


def api() -> MessagingApi:
    """A Messaging API client for our channel, at LINE_API_BASE_URL when set (tests)."""
    configuration = Configuration(
        host=settings.LINE_API_BASE_URL or None, access_token=settings.LINE_CHANNEL_ACCESS_TOKEN
    )
    # Our retry policy is the only one: urllib3 retrying on its own would hide 429s.
    configuration.retries = False
    return MessagingApi(ApiClient(configuration))


class Line(Transport):
    channel = "line"
    max_recipients = MULTICAST_MAX

    def __init__(self) -> None:
        self.api = api()
        self.timeout = settings.ALERTS_HTTP_TIMEOUT_S

    def send(
        self,
        to: Sequence[str],
        text: str,
        *,
        idempotency_key: str,
        answers: Sequence[OneTap] = (),
    ) -> str:
        messages = [TextMessage(text=text, quick_reply=quick_reply(answers))]
        # This process's share of the channel's limit.
        PACE.wait(settings.ALERTS_LINE_MAX_RPS / sending_processes(self.channel))
        try:
            if len(to) == 1:
                response = self.api.push_message_with_http_info(
                    PushMessageRequest(to=to[0], messages=messages),
                    x_line_retry_key=idempotency_key,
                    _request_timeout=self.timeout,
                )
            else:
                response = self.api.multicast_with_http_info(
                    MulticastRequest(to=list(to), messages=messages),
                    x_line_retry_key=idempotency_key,
                    _request_timeout=self.timeout,
                )
        except ApiException as error:
            return _accepted_or_raise(error)
        except urllib3.exceptions.HTTPError as error:
            # Timeouts and dropped connections: resending with the same key is safe.
            raise TransportError(f"LINE unreachable: {type(error).__name__}") from error
        return (response.headers or {}).get("x-line-request-id", idempotency_key)

    def reply(self, reply_token: str, text: str, quick_reply: QuickReply | None = None) -> None:
        """Answer a webhook event through the reply API (free, valid for the token's window)."""
        self.api.reply_message(
            ReplyMessageRequest(
                reply_token=reply_token, messages=[TextMessage(text=text, quick_reply=quick_reply)]
            ),
            _request_timeout=self.timeout,
        )


def quick_reply(answers: Sequence[OneTap]) -> QuickReply | None:
    """One-tap answers as quick-reply buttons sending a postback (the label is also shown
    in the chat as the resident's own words)."""
    if not answers:
        return None
    return QuickReply(
        items=[
            QuickReplyItem(action=PostbackAction(label=a.label, data=a.data, displayText=a.label))
            for a in answers
        ]
    )


def _accepted_or_raise(error: ApiException) -> str:
    headers = error.headers or {}
    if error.status == 409 and headers.get("x-line-accepted-request-id"):
        # The retry key was accepted before: the batch went out once already.
        return headers["x-line-accepted-request-id"]
    if error.status == 429:
        retry_after = retry_after_seconds(headers.get("Retry-After"))
        wait = retry_after if retry_after is not None else 1.0
        PACE.hold(min(wait, settings.ALERTS_RETRY_AFTER_MAX_S))
        raise TransportError("LINE rate limit (429)", retry_after=retry_after) from error
    if error.status >= 500:
        raise TransportError(f"LINE error {error.status}") from error
    raise TransportError(f"LINE refused ({error.status})", permanent=True) from error
