"""Benchmark of the HTTP API: reputation look-ups at a fixed rate, then point-of-sale sign-ups.

1. Loads ``--numbers`` risk numbers into a fresh SQLite store (one bulk insert), starts the API
   with ``mvnoguard serve``, and from a second process sends reputation look-ups at
   ``--rate`` requests/s for ``--seconds`` over keep-alive connections (open loop: each
   request leaves at its scheduled time, whatever the answers before it). Reports achieved
   rate and p50/p95/p99.
2. On a scratch PostgreSQL database on 127.0.0.1 (dropped afterwards), sends ``POST
   /v1/subscribers`` sign-ups from ``--concurrency`` connections as fast as they are answered
   for ``--reg-seconds``, and reports sign-ups/s and p99.

Loopback only; the script stops by itself and removes what it created.

    .venv/bin/python benchmarks/api.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from mvnoguard.access import keys
from mvnoguard.config import Settings
from mvnoguard.domain.access import Role
from mvnoguard.domain.subscribers import HostNetwork, OutletKind
from mvnoguard.identity.documents import ric_check_character
from mvnoguard.registry import catalog
from mvnoguard.runtime import Runtime

HOST = "127.0.0.1"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def number_at(index: int) -> str:
    return f"+86139{index:08d}"


def bulk_load_risk_numbers(runtime: Runtime, count: int) -> float:
    """``count`` risk numbers in one transaction of batched inserts; returns the seconds.

    The rows go straight to the SQLite driver's ``executemany`` in the store's own text form
    of UTC timestamps (what ``UTCDateTime`` writes), skipping per-row ORM work.
    """
    now = datetime.now(UTC).replace(tzinfo=None)
    started = time.perf_counter()
    statuses = ("reported",) * 16 + ("confirmed",) * 3 + ("cleared",)
    categories = ("fraud", "harassment", "spam")
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    evidence = [(now - timedelta(days=d)).strftime("%Y-%m-%d %H:%M:%S.%f") for d in range(90)]
    sql = (
        "INSERT INTO risk_numbers (msisdn, status, category, categories, score, reports,"
        " evidence_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    with runtime.database.engine.begin() as conn:
        rows = (
            (
                number_at(i),
                statuses[i % len(statuses)],
                categories[i % 3],
                categories[i % 3],
                (i % 100) / 100,
                1 + i % 3,
                evidence[i % 90],
                stamp,
                stamp,
            )
            for i in range(count)
        )
        conn.connection.driver_connection.executemany(sql, rows)  # type: ignore[union-attr]
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def api_server(home: Path, database_url: str | None, workers: int) -> Iterator[int]:
    """``mvnoguard serve`` on ``home`` (and ``database_url``) until the block ends."""
    port = free_port()
    env = {**os.environ, "MVNOGUARD_HOME": str(home)}
    if database_url:
        env["MVNOGUARD_DATABASE_URL"] = database_url
    # The product's own command: on Linux each worker listens on its own SO_REUSEPORT socket.
    command = [
        sys.executable,
        "-m",
        "mvnoguard",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection((HOST, port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the API server did not start") from None
                time.sleep(0.1)
        time.sleep(1.0 if workers > 1 else 0.2)  # let every worker bind and warm up
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the load generator (runs in its own process) -------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body


def _request(method: str, path: str, secret: str, body: bytes = b"") -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {HOST}",
        f"Authorization: Bearer {secret}",
        "Connection: keep-alive",
    ]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class LoadResult:
    sent: int
    errors: int
    elapsed: float
    latencies_ms: list[float]
    late: int  # requests that left more than 1 ms after their scheduled time


async def _fixed_rate(
    port: int, secret: str, paths: list[str], rate: float, seconds: float, connections: int
) -> LoadResult:
    total = int(rate * seconds)
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0
    late = 0

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(HOST, port)
        while (item := await queue.get()) is not None:
            _, request = item
            sent_at = time.perf_counter()
            writer.write(request)
            status, _ = await _read_response(reader)
            latencies.append((time.perf_counter() - sent_at) * 1000)
            if status != 200:
                errors += 1
        writer.close()

    tasks = [asyncio.create_task(connection()) for _ in range(connections)]
    await asyncio.sleep(0.2)
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.001:
            late += 1
        queue.put_nowait((due, _request("GET", paths[i % len(paths)], secret)))
    for _ in tasks:
        queue.put_nowait(None)
    await asyncio.gather(*tasks)
    return LoadResult(total, errors, time.perf_counter() - start, latencies, late)


async def _closed_loop(
    port: int, secret: str, bodies: list[bytes], seconds: float, connections: int
) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(len(bodies)))
    stop_at = time.perf_counter() + seconds
    first_error: list[bytes] = []

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(HOST, port)
        for i in counter:
            if time.perf_counter() >= stop_at:
                break
            sent_at = time.perf_counter()
            writer.write(_request("POST", "/v1/subscribers", secret, bodies[i]))
            status, answer = await _read_response(reader)
            latencies.append((time.perf_counter() - sent_at) * 1000)
            if status != 201:
                errors += 1
                if not first_error:
                    first_error.append(answer)
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    if first_error:
        print(f"  first refused sign-up: {first_error[0][:300]!r}")
    return LoadResult(len(latencies), errors, time.perf_counter() - start, latencies, 0)


def _run_in_child(kind: str, args: tuple[object, ...], out: mp.Queue[LoadResult]) -> None:
    import uvloop

    if kind == "fixed":
        out.put(uvloop.run(_fixed_rate(*args)))  # type: ignore[arg-type]
    else:
        out.put(uvloop.run(_closed_loop(*args)))  # type: ignore[arg-type]


def in_second_process(kind: str, *args: object) -> LoadResult:
    context = mp.get_context("spawn")
    out: mp.Queue[LoadResult] = context.Queue()
    child = context.Process(target=_run_in_child, args=(kind, args, out))
    child.start()
    result = out.get(timeout=600)
    child.join(timeout=30)
    return result


def load_average() -> float:
    """The 1-minute load average: other work on the machine shows in every latency here."""
    return round(os.getloadavg()[0], 2)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(
    title: str, result: LoadResult, unit: str, load: tuple[float, float]
) -> dict[str, float]:
    figures = {
        "requests": result.sent,
        "errors": result.errors,
        f"{unit}_per_s": round(len(result.latencies_ms) / result.elapsed, 1),
        "p50_ms": round(statistics.median(result.latencies_ms), 2),
        "p95_ms": round(percentile(result.latencies_ms, 0.95), 2),
        "p99_ms": round(percentile(result.latencies_ms, 0.99), 2),
        "max_ms": round(max(result.latencies_ms), 2),
    }
    if result.late:
        figures["sent_late"] = result.late
    figures["load_before"], figures["load_after"] = load
    print(f"{title}: {json.dumps(figures)}")
    return figures


# -- the two scenarios ----------------------------------------------------------------------


def reputation_scenario(args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    home = workdir / "reputation"
    runtime = Runtime(Settings(home=home))
    runtime.vault  # noqa: B018 (the key file exists before the workers start)
    seconds = bulk_load_risk_numbers(runtime, args.numbers)
    print(f"loaded {args.numbers:,} risk numbers in {seconds:.1f} s")
    with runtime.database.transaction() as session:
        _, secret = keys.create(
            session, role=Role.INSPECTOR, enterprise_code=None, label="bench", now=datetime.now(UTC)
        )
    runtime.close()
    rng = random.Random(7)
    paths = [
        f"/v1/numbers/{number_at(rng.randrange(args.numbers))}/reputation"
        if rng.random() < 0.9
        else f"/v1/numbers/+86138{rng.randrange(10**8):08d}/reputation"
        for _ in range(50_000)
    ]
    with api_server(home, None, args.workers) as port:
        in_second_process("fixed", port, secret, paths[:2000], 500.0, 2.0, 16)  # warm-up
        before = load_average()
        result = in_second_process(
            "fixed", port, secret, paths, float(args.rate), float(args.seconds), args.connections
        )
        after = load_average()
    return report(
        f"reputation at {args.rate}/s, {args.numbers:,} numbers, {args.workers} worker(s)",
        result,
        "requests",
        (before, after),
    )


def sign_up_bodies(count: int) -> list[bytes]:
    bodies = []
    for i in range(count):
        birth = datetime(1960, 1, 1) + timedelta(days=i % 15_000)
        first17 = f"110101{birth:%Y%m%d}{i % 1000:03d}"
        body = {
            "msisdn": f"1709{i:07d}",
            "outlet_code": "BENCH-OWN",
            "holder": {
                "doc_type": "RIC",
                "number": first17 + ric_check_character(first17),
                "name": "测试用户",
            },
            "verification_method": "reader",
            "face_score": 0.95,
        }
        bodies.append(json.dumps(body, ensure_ascii=False).encode())
    return bodies


@contextmanager
def scratch_postgres(admin_url: str) -> Iterator[str]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"mvnoguard_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def registration_scenario(args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    home = workdir / "registration"
    with scratch_postgres(args.postgres_url) as url:
        runtime = Runtime(Settings(home=home, database_url=url))
        runtime.vault  # noqa: B018
        with runtime.database.transaction() as session:
            catalog.upsert_enterprise(
                session, catalog.EnterpriseSpec("BENCH", "基准移动", HostNetwork.UNICOM), actor="b"
            )
            catalog.add_block(session, "BENCH", "17090000000", "17099999999", actor="b")
            outlet = catalog.OutletSpec("BENCH-OWN", "BENCH", OutletKind.OWN, "110101")
            catalog.upsert_outlet(session, outlet, actor="b")
            _, secret = keys.create(
                session,
                role=Role.ENTERPRISE,
                enterprise_code="BENCH",
                label="bench",
                now=datetime.now(UTC),
            )
        runtime.close()
        bodies = sign_up_bodies(args.reg_seconds * 2_000)
        with api_server(home, url, args.reg_workers) as port:
            before = load_average()
            result = in_second_process(
                "closed", port, secret, bodies, float(args.reg_seconds), args.concurrency
            )
            after = load_average()
    return report(
        f"sign-ups on PostgreSQL, {args.concurrency} connections, {args.reg_workers} worker(s)",
        result,
        "sign_ups",
        (before, after),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=1_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    # One worker serves 1,000 look-ups/s on about a third of a core; a second one only takes
    # CPU from the load generator, which shares the two cores and times every answer.
    parser.add_argument("--workers", type=int, default=1, help="server workers (reputation)")
    parser.add_argument("--reg-workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--reg-seconds", type=int, default=15)
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL)
    parser.add_argument("--skip", choices=["reputation", "registration"], action="append")
    args = parser.parse_args()
    skip = set(args.skip or [])
    print(f"load average at start: {load_average()}")
    with tempfile.TemporaryDirectory(prefix="mvnoguard-api-bench-") as tmp:
        if "reputation" not in skip:
            reputation_scenario(args, Path(tmp))
        if "registration" not in skip:
            registration_scenario(args, Path(tmp))


if __name__ == "__main__":
    main()
