"""What routes depend on: the runtime, the calling principal, and one transaction of work.

Routes are ``async`` and hand their store work to :func:`in_transaction`: the service call and
the commit (or the rollback on any error, so a refused request stores nothing) run together in
one call on a pool thread. A transaction that has taken the audit log's lock therefore goes
straight on to its commit, never waiting for the event loop between its writes and its commit
while other requests queue behind the lock. At most ``STORE_THREADS`` such calls run at once
per process: more threads would only contend for the interpreter lock, which slows the one
holding the audit log's lock too.

The dependencies are ``async`` as well: FastAPI runs a plain ``def`` dependency on its thread
pool, and each hop there costs more than the work of these. A key found in the app's
:class:`~mvnoguard.access.keys.PrincipalCache` needs no I/O; any other is looked up on a pool
thread, on a connection of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import partial
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from mvnoguard.access import keys
from mvnoguard.domain.access import Principal
from mvnoguard.errors import Unauthorized
from mvnoguard.runtime import Runtime

T = TypeVar("T")

STORE_THREADS = 4


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def store_limiter() -> CapacityLimiter:
    """The limiter an app hands to :func:`in_transaction` (built once, in ``create_app``)."""
    return CapacityLimiter(STORE_THREADS)


async def in_transaction(request: Request, work: Callable[[Session], T]) -> T:
    """``work(session)`` in one transaction on a pool thread: committed if it returns."""
    runtime: Runtime = request.app.state.runtime
    limiter: CapacityLimiter = request.app.state.store_limiter
    return await anyio.to_thread.run_sync(partial(_transaction, runtime, work), limiter=limiter)


def _transaction(runtime: Runtime, work: Callable[[Session], T]) -> T:
    with runtime.database.transaction() as session:
        return work(session)


async def in_connection(request: Request, work: Callable[[Runtime], T]) -> T:
    """Read-only ``work(runtime)`` on a pool thread, under the same limit."""
    runtime: Runtime = request.app.state.runtime
    limiter: CapacityLimiter = request.app.state.store_limiter
    return await anyio.to_thread.run_sync(partial(work, runtime), limiter=limiter)


_bearer = HTTPBearer(
    auto_error=False, description="An API key from `mvnoguard keys create`, as a bearer token."
)


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:  # authenticated by AuthenticatedRoute before anything else was read
        return known
    return await _principal(request, credentials)


async def _principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a valid API key is required (Authorization: Bearer KEY)")
    cache: keys.PrincipalCache = request.app.state.principals
    principal = keys.cached_principal(cache, credentials.credentials)
    if principal is not None:
        return principal
    secret = credentials.credentials
    return await in_connection(request, partial(_authenticate, secret=secret, cache=cache))


def _authenticate(runtime: Runtime, *, secret: str, cache: keys.PrincipalCache) -> Principal:
    with runtime.database.sessions() as session:
        return keys.authenticate(session, secret, cache=cache)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


class AuthenticatedRoute(APIRoute):
    """A route whose caller is known before its path, query or body is read: no key or a bad
    one is 401 whatever else the request holds (malformed JSON included), as the contract says.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def authenticated(request: Request) -> Response:
            request.state.principal = await _principal(request, await _bearer(request))
            return await handle(request)

        return authenticated
