"""Running the API: the app as each worker process builds it, and the workers themselves.

``mvnoguard serve`` puts ``--home`` into ``MVNOGUARD_HOME`` before starting the workers, so
each one builds the same :class:`Runtime` from :class:`Settings`.

With several workers on Linux, every worker listens on a socket of its own bound to the same
port with ``SO_REUSEPORT``, and the kernel spreads new connections over them by the hash of
each connection's addresses. With one shared socket (uvicorn's own ``--workers``) whichever
worker wakes first accepts a whole burst of connections: with keep-alive clients one worker
could end up holding nearly all of them and be the bottleneck while the other core idled.
Elsewhere, or with one worker, uvicorn runs as it is.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import signal
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from types import FrameType

from fastapi import FastAPI

from mvnoguard.api.app import create_app
from mvnoguard.config import Settings
from mvnoguard.runtime import Runtime

FACTORY = "mvnoguard.api.server:app_from_environment"

# A worker that dies sooner than this after its start is not restarted: it would only die again.
_MIN_WORKER_LIFE_SECONDS = 5.0


def app_from_environment() -> FastAPI:
    return create_app(Runtime(Settings.load()))


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    access_log: bool
    log_level: str = "info"

    def uvicorn_options(self) -> dict[str, object]:
        return {
            "factory": True,
            "host": self.host,
            "port": self.port,
            "access_log": self.access_log,
            "log_level": self.log_level,
            "proxy_headers": False,
            "server_header": False,
        }


def serve(options: ServeOptions) -> None:
    """Serve until SIGINT or SIGTERM."""
    import uvicorn

    if options.workers == 1 or not _balanced_listening_supported():
        uvicorn.run(FACTORY, workers=options.workers, **options.uvicorn_options())  # type: ignore[arg-type]
        return
    _Supervisor(options).run()


def _balanced_listening_supported() -> bool:
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` that other workers may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _worker(options: ServeOptions) -> None:
    import uvicorn

    sock = listening_socket(options.host, options.port)
    config = uvicorn.Config(FACTORY, **options.uvicorn_options())  # type: ignore[arg-type]
    uvicorn.Server(config).run(sockets=[sock])


class _Supervisor:
    """Starts the workers, restarts one that dies, and stops them all on a signal."""

    def __init__(self, options: ServeOptions) -> None:
        if options.port == 0:  # every worker must share one port: choose it here
            with listening_socket(options.host, 0) as probe:
                options = dataclasses.replace(options, port=probe.getsockname()[1])
        self.options = options
        self.context = multiprocessing.get_context("spawn")
        self.stopping = False

    def _start(self) -> tuple[BaseProcess, float]:
        process = self.context.Process(target=_worker, args=(self.options,), daemon=False)
        process.start()
        return process, time.monotonic()

    def _stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> None:
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        print(
            f"mvnoguard API on http://{self.options.host}:{self.options.port} "
            f"({self.options.workers} workers, one listening socket each)",
            flush=True,
        )
        workers = [self._start() for _ in range(self.options.workers)]
        try:
            while not self.stopping:
                time.sleep(0.2)
                for i, (process, started) in enumerate(workers):
                    if process.is_alive() or self.stopping:
                        continue
                    if time.monotonic() - started < _MIN_WORKER_LIFE_SECONDS:
                        self.stopping = True  # failing at start-up: give up, do not spin
                        break
                    workers[i] = self._start()
        finally:
            for process, _ in workers:
                if process.is_alive():
                    process.terminate()  # uvicorn finishes the requests in flight, then exits
            for process, _ in workers:
                process.join(timeout=30)
                if process.is_alive():
                    process.kill()
                    process.join()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
