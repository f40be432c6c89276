"""Running independent rendering jobs in a process pool, with a progress bar."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import torch
from tqdm import tqdm

__all__ = ["default_jobs", "map_jobs"]

T = TypeVar("T")
R = TypeVar("R")


def default_jobs() -> int:
    """The number of CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _init_worker() -> None:
    torch.set_num_threads(1)


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    # Short clips resample fastest on one thread; more threads spin against each other.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def map_jobs(fn: Callable[[T], R], items: Sequence[T], jobs: int, desc: str, unit: str) -> list[R]:
    """Apply ``fn`` to every item, in ``jobs`` processes (in this one when ``jobs`` is 1).

    Results come back in the order of ``items``, whatever the number of processes, so a
    corpus does not depend on ``jobs``. Workers are started with ``spawn`` (no fork of a process
    that may hold threads); every job runs with one torch thread.
    """
    if jobs < 1:
        raise ValueError(f"jobs: expected a positive number of processes, got {jobs}")
    bar = tqdm(total=len(items), desc=desc, unit=unit)
    with bar:
        if jobs == 1 or len(items) <= 1:
            results = []
            with _one_torch_thread():
                for item in items:
                    results.append(fn(item))
                    bar.update()
            return results
        chunksize = max(1, min(32, len(items) // (jobs * 8)))
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker) as pool:
            results = []
            for result in pool.map(fn, items, chunksize=chunksize):
                results.append(result)
                bar.update()
            return results
