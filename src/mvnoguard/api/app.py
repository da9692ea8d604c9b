"""The FastAPI application: ``create_app(runtime)`` wires routers, auth and error handling.

Everything lives under ``/v1``; the OpenAPI document is at ``/openapi.json`` and its pages at
``/docs``. The app holds no global state: the runtime it is given supplies store, vault and
policy, and the citizens' check codes go out through one sender built here (by default
:class:`OutboxSender` writing to ``HOME/outbox``, where an SMS gateway would be wired in).
"""

from __future__ import annotations

from fastapi import FastAPI

from mvnoguard import __version__
from mvnoguard.access.keys import PRINCIPAL_TTL_SECONDS, PrincipalCache
from mvnoguard.api.deps import store_limiter
from mvnoguard.api.errors import MAX_BODY_BYTES, BodySizeLimit, install_error_handlers
from mvnoguard.api.routes import citizen, complaints, numbers, risk_numbers, subscribers, tasks
from mvnoguard.linkage.citizen import CodeSender, OutboxSender
from mvnoguard.runtime import Runtime

API_PREFIX = "/v1"


def create_app(
    runtime: Runtime,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    code_sender: CodeSender | None = None,
    principal_ttl: float = PRINCIPAL_TTL_SECONDS,
) -> FastAPI:
    app = FastAPI(
        title="mvnoguard",
        version=__version__,
        summary="Real-name supervision of mobile virtual network operators.",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.runtime = runtime
    app.state.principals = PrincipalCache(ttl=principal_ttl)
    app.state.store_limiter = store_limiter()
    app.state.code_sender = code_sender or OutboxSender(runtime.settings.home / "outbox")
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, limit=max_body_bytes)
    for router in (
        subscribers.router,
        risk_numbers.router,
        numbers.router,
        tasks.router,
        complaints.router,
        citizen.router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    return app
