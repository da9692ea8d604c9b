"""``mvnoguard serve`` with several workers: each listens on its own socket, connections spread
over all of them, and a SIGTERM stops every worker."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mvnoguard.api.server import listening_socket

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="per-worker sockets are used on Linux only"
)


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            found.add(int(entry.name))
    return found


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


ESTABLISHED, LISTEN = "01", "0A"  # TCP states as /proc/net/tcp writes them


def tcp_sockets(local_port: int, state: str) -> list[tuple[int, int]]:
    """(remote port, socket inode) of the IPv4 sockets on ``local_port`` in ``state``; every
    listening socket's remote port is 0."""
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == local_port and fields[3] == state:
            found.append((int(fields[2].split(":")[1], 16), int(fields[9])))
    return found


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    command = [sys.executable, "-m", "mvnoguard", "--home", str(tmp_path), "serve"]
    command += ["--port", "0", "--workers", "2", "--no-access-log"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+) \(2 workers", banner)
        assert match, banner
        yield process, int(match.group(1))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _workers(supervisor: int, port: int) -> set[int]:
    return {pid for pid in children(supervisor) if _answers_on(pid, port)}


def _answers_on(pid: int, port: int) -> bool:
    return bool({inode for _, inode in tcp_sockets(port, LISTEN)} & socket_inodes(pid))


def get(sock: socket.socket, path: str) -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(65536)
    return answer


def test_connections_spread_over_every_worker_and_sigterm_stops_them(
    served: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = served
    deadline = time.monotonic() + 60
    while len(workers := _workers(process.pid, port)) < 2:
        assert time.monotonic() < deadline, "two workers never listened"
        time.sleep(0.2)
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]
    try:
        for client in clients:
            assert get(client, "/v1/numbers/13800000000/reputation").startswith(b"HTTP/1.1 401")
        ends = dict(tcp_sockets(port, ESTABLISHED))
        owner = {inode: pid for pid in workers for inode in socket_inodes(pid)}
        served_by = [owner.get(ends[client.getsockname()[1]]) for client in clients]
        counts = {pid: served_by.count(pid) for pid in workers}
        # Each connection lands on a worker by the hash of its addresses: fewer than 4 of 32
        # on one worker would happen about 3 times in a million runs of fair coin tosses.
        assert None not in served_by
        assert all(count >= 4 for count in counts.values()), counts
    finally:
        for client in clients:
            client.close()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)


def test_a_listening_socket_shares_its_port() -> None:
    with listening_socket("127.0.0.1", 0) as first:
        port = first.getsockname()[1]
        with listening_socket("127.0.0.1", port) as second:
            assert second.getsockname()[1] == port
