"""What routes depend on: the runtime, a per-request session, and the calling principal.

The session is one transaction around the route (``scope="function"``): it commits after the
route returns and before the answer is sent, and rolls back on any error, so a refused request
stores nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from mvnoguard.access import keys
from mvnoguard.domain.access import Principal
from mvnoguard.errors import Unauthorized
from mvnoguard.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[Session]:
    # Opening a session does no I/O (it connects on first use, inside the route's worker
    # thread); only the commit or rollback at the end is moved off the event loop.
    session = runtime.database.sessions()
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_rollback_and_close, session)
        raise
    await run_in_threadpool(_commit_and_close, session)


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    finally:
        session.close()


def _rollback_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(
    auto_error=False, description="An API key from `mvnoguard keys create`, as a bearer token."
)


def get_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a valid API key is required (Authorization: Bearer KEY)")
    return keys.authenticate(session, credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
