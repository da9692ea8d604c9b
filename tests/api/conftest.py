"""A live API server on a free loopback port, over a seeded market, on SQLite and PostgreSQL.

The server runs uvicorn in a thread of the test process against a temporary home; the tests
talk to it over real HTTP with httpx. The market holds two enterprises (E01, E02) with one
subscriber each, and keys for a regulator, each enterprise and an inspector.

Citizens' routes rate-limit by peer address, so a citizen test connects from an address of its
own in 127.0.0.0/8 (every one of them is loopback on Linux) and reads the codes the server
"sent" from ``HOME/outbox/sms.jsonl``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from mvnoguard.access import keys
from mvnoguard.access.keys import PRINCIPAL_TTL_SECONDS
from mvnoguard.api.app import create_app
from mvnoguard.config import Settings
from mvnoguard.domain.access import Role
from mvnoguard.domain.calendar import utc_now
from mvnoguard.domain.subscribers import HostNetwork, OutletKind
from mvnoguard.registry import catalog
from mvnoguard.registry.registration import SignUp
from mvnoguard.registry.rules import PresentedDocument
from mvnoguard.runtime import Runtime
from tests.conftest import scratch_postgres_database
from tests.registry.builders import ric

NUMBER_A = "17090000001"
NUMBER_B = "17000000001"
HOLDER_A = PresentedDocument("RIC", ric(sequence=123), name="王小明")
HOLDER_B = PresentedDocument("RIC", ric(region="440106", sequence=456), name="李秀英")


@dataclass
class LiveServer:
    base_url: str
    runtime: Runtime
    keys: dict[str, str]  # regulator, E01, E02, inspector -> secret

    def client(self, who: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=10)

    def citizen(self, peer: str) -> httpx.Client:
        """A client without a key, connecting from loopback address ``peer``."""
        transport = httpx.HTTPTransport(local_address=peer)
        return httpx.Client(base_url=self.base_url, transport=transport, timeout=10)

    def outbox(self) -> list[dict[str, str]]:
        """Every SMS the server has sent, oldest first."""
        path = self.runtime.settings.home / "outbox" / "sms.jsonl"
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]

    def last_code_to(self, national: str) -> str:
        """The code in the newest SMS sent to ``national``."""
        text = next(m["text"] for m in reversed(self.outbox()) if m["to"] == f"+86{national}")
        return next(word.rstrip(";") for word in text.split() if word.rstrip(";").isdigit())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def seed_market(runtime: Runtime) -> dict[str, str]:
    now = utc_now()
    with runtime.database.transaction() as session:
        for code, name, host in (
            ("E01", "远岸移动", HostNetwork.UNICOM),
            ("E02", "青禾通信", HostNetwork.TELECOM),
        ):
            catalog.upsert_enterprise(session, catalog.EnterpriseSpec(code, name, host), actor="t")
        catalog.add_block(session, "E01", "17090000000", "17090009999", actor="t")
        catalog.add_block(session, "E02", "17000000000", "17000009999", actor="t")
        catalog.upsert_outlet(
            session, catalog.OutletSpec("E01-OWN", "E01", OutletKind.OWN, "110101"), actor="t"
        )
        catalog.upsert_outlet(
            session, catalog.OutletSpec("E02-OWN", "E02", OutletKind.OWN, "440106"), actor="t"
        )
        for number, enterprise, holder in (
            (NUMBER_A, "E01", HOLDER_A),
            (NUMBER_B, "E02", HOLDER_B),
        ):
            runtime.registration.register(
                session,
                SignUp(
                    msisdn=number,
                    enterprise_code=enterprise,
                    outlet_code=f"{enterprise}-OWN",
                    holder=holder,
                    verification_method="reader",
                    face_score=0.95,
                    at=now - timedelta(days=1),
                ),
                actor="t",
            )
        secrets: dict[str, str] = {}
        for who, role, code in (
            ("regulator", Role.REGULATOR, None),
            ("E01", Role.ENTERPRISE, "E01"),
            ("E02", Role.ENTERPRISE, "E02"),
            ("inspector", Role.INSPECTOR, None),
        ):
            _, secrets[who] = keys.create(
                session, role=role, enterprise_code=code, label=who, now=now
            )
    return secrets


@contextmanager
def serving(runtime: Runtime, *, principal_ttl: float = PRINCIPAL_TTL_SECONDS) -> Iterator[str]:
    """Run the app with uvicorn in a thread until the block ends; yields its base URL."""
    port = free_port()
    app = create_app(runtime, principal_ttl=principal_ttl)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextmanager
def live_runtime(backend: str, home: Path) -> Iterator[Runtime]:
    if backend == "sqlite":
        runtime = Runtime(Settings(home=home))
        yield runtime
        runtime.close()
        return
    with scratch_postgres_database("mvnoguard_api") as url:
        runtime = Runtime(Settings(home=home, database_url=url))
        yield runtime
        runtime.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp(f"api-{request.param}")
    with live_runtime(request.param, home) as runtime:
        secrets = seed_market(runtime)
        with serving(runtime) as base_url:
            yield LiveServer(base_url, runtime, secrets)
