"""Work started on several threads at the same moment, for the rules that must hold under races."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def at_once(count: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """``work(i)`` for ``i < count`` on as many threads, released together.

    Returns what the calls returned and what they raised, each in the order they finished.
    """
    start = threading.Barrier(count)
    done: list[Any] = []
    failed: list[BaseException] = []

    def run(i: int) -> None:
        start.wait(30)
        try:
            done.append(work(i))
        except BaseException as exc:  # collected for the test to judge
            failed.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return done, failed
