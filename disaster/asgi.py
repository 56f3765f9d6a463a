"""ASGI entry point: HTTP through Django, WebSockets through Channels (`/ws/ops/`)."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disaster.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402 (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import get_resolver, path  # noqa: E402

from disaster.core.consumers import OpsConsumer  # noqa: E402
from disaster.core.limits import EntryGate  # noqa: E402
from disaster.core.ws_auth import SameOriginMiddleware, TokenAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Body caps and public routes' client limits, before Django reads any body.
        "http": EntryGate(django_asgi_app),
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
