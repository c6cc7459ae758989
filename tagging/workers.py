"""A small thread pool whose threads never hold the process open.

`concurrent.futures.ThreadPoolExecutor` joins its threads at interpreter exit, so one request
hanging on a silent server keeps a Ctrl-C'd push alive until the request gives up. Here the
workers are daemon threads: `shutdown(wait=False)` leaves a hung request behind, and the
process ends at once (the journal is written by the calling thread, never by a worker).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_STOP = object()


class DaemonPool:
    def __init__(self, workers: int, name: str) -> None:
        self._tasks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True)
            for n in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()
        self._tasks.put((future, fn, args))
        return future

    def shutdown(self, *, wait: bool) -> None:
        """Stop the workers; with wait=False, queued tasks are cancelled and running ones
        left to end on their own (or with the process)."""
        if not wait:
            while True:
                try:
                    task = self._tasks.get_nowait()
                except queue.Empty:
                    break
                if task is not _STOP:
                    task[0].cancel()
        for _ in self._threads:
            self._tasks.put(_STOP)
        if wait:
            for thread in self._threads:
                thread.join()

    def _work(self) -> None:
        while (task := self._tasks.get()) is not _STOP:
            future, fn, args = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to the caller through the future
                future.set_exception(exc)


def map_daemon(fn: Callable[[Any], T], items: Sequence[Any], workers: int, name: str) -> list[T]:
    """`fn` over `items` on daemon threads, results in order; on any error (or Ctrl-C) the
    pool is left behind at once instead of being waited for."""
    pool = DaemonPool(min(workers, len(items)), name)
    ended = False
    try:
        futures = [pool.submit(fn, item) for item in items]
        results = [_result(f) for f in futures]
        ended = True
        return results
    finally:
        pool.shutdown(wait=ended)


def _result(future: Future[T]) -> T:
    """A future's result, waited for in short steps so Ctrl-C is seen at once."""
    while True:
        try:
            return future.result(timeout=0.2)
        except TimeoutError:
            continue
