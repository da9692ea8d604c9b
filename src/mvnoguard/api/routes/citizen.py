"""``/v1/citizen``: "one ID, check all" for citizens, without an API key.

A citizen asks for a code (sent by SMS to their own number), then with it sees every number
registered under their identity, masked, per enterprise, and can dispute one. Requests are
rate-limited per identity and per client, the client being the connection's peer address
(``serve`` runs without proxy headers, so a client cannot name itself). The code request is
answered the same whether or not the identity and number matched. Checks are the service's
(:mod:`mvnoguard.linkage.citizen`).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from mvnoguard.api.deps import RuntimeDep, in_connection, in_transaction
from mvnoguard.api.schemas import error_responses
from mvnoguard.domain.calendar import utc_now
from mvnoguard.linkage import citizen
from mvnoguard.linkage.citizen import CodeSender
from mvnoguard.runtime import Runtime

router = APIRouter(prefix="/citizen", tags=["citizen"])

CODE_ANSWER = "if the number is registered under this identity, a code has been sent to it"


async def get_sender(request: Request) -> CodeSender:
    sender: CodeSender = request.app.state.code_sender
    return sender


async def get_client(request: Request) -> str:
    """The peer the rate limits count by: its IPv4 address, or its IPv6 /64 network (one line
    is given a whole /64, so counting single IPv6 addresses would be no limit)."""
    return client_key(request.client.host if request.client is not None else "unknown")


def client_key(host: str) -> str:
    """``host`` as the rate limits count it (see :func:`get_client`)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an address (a test client, a Unix socket): counted as given
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


SenderDep = Annotated[CodeSender, Depends(get_sender)]
ClientDep = Annotated[str, Depends(get_client)]


class IdentityIn(BaseModel):
    """Who is asking: a document, the name on it, and one of their own numbers."""

    model_config = ConfigDict(extra="forbid")

    doc_type: str = Field(max_length=16, examples=["RIC"])
    doc_number: str = Field(max_length=64, examples=["110101199003071234"])
    name: str = Field(max_length=100, examples=["王小明"])
    msisdn: str = Field(max_length=32, examples=["17090000001"])
    nationality: str | None = Field(
        default=None,
        max_length=3,
        examples=["USA"],
        description="A passport's issuing country (ISO 3166-1); needed for PASSPORT only.",
    )

    def asker(self) -> citizen.Asker:
        return citizen.Asker(
            self.doc_type, self.doc_number, self.name, self.msisdn, self.nationality
        )


class CheckIn(IdentityIn):
    code: str = Field(max_length=16, examples=["123456"], description="The code sent by SMS.")


class DisputeIn(CheckIn):
    disputed_msisdn: str = Field(
        max_length=32, examples=["17000000001"], description="A number the citizen did not sign."
    )


class CodeRequestOut(BaseModel):
    status: Literal["accepted"] = "accepted"
    message: str = Field(examples=[CODE_ANSWER])


class HoldingsOut(BaseModel):
    enterprise_code: str = Field(examples=["E01"])
    enterprise_name: str
    count: int
    numbers: list[str] = Field(examples=[["170****0001"]], description="Masked.")


class CitizenViewOut(BaseModel):
    total: int
    enterprises: list[HoldingsOut]


class DisputeOut(BaseModel):
    task_id: int
    enterprise_code: str
    msisdn: str = Field(examples=["170****0001"], description="Masked.")
    status: str
    due_at: datetime | None = None
    created: bool = Field(description="False when the number was already under an open dispute.")


@router.post(
    "/codes",
    response_model=CodeRequestOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(413, 422, 429),
)
async def request_code(
    body: IdentityIn, request: Request, sender: SenderDep, client: ClientDep
) -> dict[str, Any]:
    """Send a check code to the number if it is the citizen's; the answer never says whether."""
    await in_connection(request, partial(_request_code, body=body, sender=sender, client=client))
    return {"status": "accepted", "message": CODE_ANSWER}


class _HeldMessages:
    """Messages kept back until the transaction that stores their codes has committed."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def send(self, msisdn: str, text: str) -> None:
        self.messages.append((msisdn, text))


def _request_code(runtime: Runtime, *, body: IdentityIn, sender: CodeSender, client: str) -> None:
    held = _HeldMessages()
    with runtime.database.transaction() as session:
        citizen.request_code(
            session,
            runtime.vault,
            held,
            body.asker(),
            client=client,
            now=utc_now(),
            policy=runtime.policy,
        )
    for msisdn, text in held.messages:  # a code whose row did not commit is never sent
        sender.send(msisdn, text)


@router.post(
    "/checks", response_model=CitizenViewOut, responses=error_responses(401, 413, 422, 429)
)
async def check_all(
    body: CheckIn, request: Request, runtime: RuntimeDep, client: ClientDep
) -> dict[str, Any]:
    """Every live number under the identity, per enterprise, masked; a wrong code is 401."""
    return await in_transaction(request, lambda session: _check_all(session, body, runtime, client))


def _check_all(session: Session, body: CheckIn, runtime: Runtime, client: str) -> dict[str, Any]:
    view = citizen.check_all(
        session,
        runtime.vault,
        body.asker(),
        code=body.code,
        client=client,
        now=utc_now(),
        policy=runtime.policy,
    )
    return view.to_json()


@router.post(
    "/disputes",
    response_model=DisputeOut,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 404, 413, 422, 429),
)
async def open_dispute(
    body: DisputeIn, request: Request, runtime: RuntimeDep, client: ClientDep
) -> dict[str, Any]:
    """Dispute a number registered under the identity: a task at the enterprise holding it."""
    return await in_transaction(request, lambda session: _dispute(session, body, runtime, client))


def _dispute(session: Session, body: DisputeIn, runtime: Runtime, client: str) -> dict[str, Any]:
    task = citizen.dispute(
        session,
        runtime.vault,
        body.asker(),
        code=body.code,
        disputed_msisdn=body.disputed_msisdn,
        client=client,
        now=utc_now(),
        policy=runtime.policy,
    )
    return task.to_json()
