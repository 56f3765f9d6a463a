"""A fake Twilio Messages API on loopback for tests and benchmarks (see ../fake_server.py).

Create (form POST) and list (GET Messages.json?To=), with Basic auth checked, as the real
API does; error 21211 for numbers marked invalid. Twilio has no idempotency key, so a
"lost" answer leaves the sender to look the message up by its number and text.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import uuid
from collections import Counter
from datetime import UTC, datetime

import aiohttp
from aiohttp import web

from alerts.providers.fake_server import FakeServer


class FakeTwilio(FakeServer):
    """Twilio's Messages API: create (form POST) and list, with Basic auth checked."""

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "token") -> None:  # noqa: S107 (a fake)
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token
        self.messages: list[dict] = []
        self.invalid_numbers: set[str] = set()  # answer 400 code 21211
        path = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.app.router.add_post(path, self.create)
        self.app.router.add_get(path, self.list)

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    def error(self, status: int, headers: dict[str, str], code: int | None = None) -> web.Response:
        body = {"code": code or 20000 + status, "message": f"fake error {status}", "status": status}
        return web.json_response(body, status=status, headers=headers)

    async def create(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self.error(401, {}, 20003)
        form = await request.post()
        to = str(form.get("To", ""))
        if to in self.invalid_numbers or not to.startswith("+"):
            return self.error(400, {}, 21211)
        now = email.utils.format_datetime(datetime.now(UTC))
        message = {
            "sid": "SM" + uuid.uuid4().hex,
            "account_sid": self.account_sid,
            "to": to,
            "from": str(form.get("From", "")),
            "body": str(form.get("Body", "")),
            "status": "queued",
            "status_callback": str(form.get("StatusCallback", "")),
            "validity_period": str(form.get("ValidityPeriod", "")),
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "direction": "outbound-api",
            "num_segments": "1",
            "price": None,
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/SM.json",
        }
        self.messages.append(message)
        return web.json_response(message, status=201)

    async def list(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self.error(401, {}, 20003)
        to = request.query.get("To")
        found = [m for m in reversed(self.messages) if to is None or m["to"] == to]
        return web.json_response(
            {"messages": found[:50], "next_page_uri": None, "page": 0, "page_size": 50}
        )

    def accepted(self) -> Counter[tuple[str, str]]:
        """How many times each (number, text) was accepted."""
        return Counter((m["to"], m["body"]) for m in self.messages)


def max_rate(twilio_url: str, seconds: float = 3.0, clients: int = 32) -> float:
    """The fake Twilio's own ceiling: requests/s a tight aiohttp client loop gets answered
    (message creates, as in a fan-out)."""
    fake = FakeTwilio()  # only for its default credentials and path
    auth = base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
    url = f"{twilio_url}/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
    form = {"To": "+819000000000", "From": "+815000000000", "Body": "rate"}

    async def hammer() -> int:
        done = 0
        end = asyncio.get_running_loop().time() + seconds
        async with aiohttp.ClientSession(headers={"Authorization": f"Basic {auth}"}) as session:

            async def client() -> None:
                nonlocal done
                while asyncio.get_running_loop().time() < end:
                    async with session.post(url, data=form) as response:
                        await response.read()
                        done += 1

            await asyncio.gather(*(client() for _ in range(clients)))
        return done

    return asyncio.run(hammer()) / seconds
