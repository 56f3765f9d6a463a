"""ASGI entry point: HTTP through Django's WSGI handler on a pool of threads, WebSockets
through Channels (`/ws/ops/`).

Django's own ASGI handler runs a request's synchronous middleware and view with three
hops between the event loop and threads, in a new thread for every request: about a third
of the CPU a stock movement cost (bench/stock_api.py, py-spy). Every view here is
synchronous, so HTTP goes to Django's WSGI handler instead, run by a2wsgi on a fixed pool
of HTTP_THREADS threads per process: one hop each way, threads reused. `EntryGate` has
received the whole body before a thread is taken, so a slow upload holds none.
"""

import gc
import os
from typing import cast

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disaster.settings")
django_wsgi_app = get_wsgi_application()

from a2wsgi import WSGIMiddleware  # noqa: E402
from a2wsgi.wsgi_typing import WSGIApp  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402 (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import get_resolver, path  # noqa: E402

from disaster.core.consumers import OpsConsumer  # noqa: E402
from disaster.core.limits import EntryGate  # noqa: E402
from disaster.core.ws_auth import SameOriginMiddleware, TokenAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Body caps and public routes' client limits, before a thread takes the request.
        # (Django's stubs give the handler's answer as a response object: it is one, and an
        # iterable of bytes, as WSGI asks.)
        "http": EntryGate(
            WSGIMiddleware(cast(WSGIApp, django_wsgi_app), workers=settings.HTTP_THREADS)
        ),
        "websocket": SameOriginMiddleware(
            AuthMiddlewareStack(
                TokenAuthMiddleware(URLRouter([path("ws/ops/", OpsConsumer.as_asgi())]))
            )
        ),
    }
)

# Everything loaded at start-up (Django, the URL conf and with it every API router and
# schema) lives as long as the process: moved out of the collector's sight, a full
# collection no longer walks it. Without this a gen-2 collection paused a worker for
# 80–100 ms, the p99 of every live push (bench/push_latency.py). The URL conf is otherwise
# imported by the first request, after the freeze, so it is loaded here first.
get_resolver().url_patterns  # noqa: B018 (imported for its side effect)
gc.collect()
gc.freeze()
