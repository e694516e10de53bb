"""Where sweep points run: in this process, in a warm local process pool, or on Dask distributed.

Each backend takes the tasks and yields results rows as points finish (in completion order); the
caller writes each row to the store at once. At most `window` points are in flight, so a killed
sweep loses at most those and memory does not grow with the number of points.
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from engine.batch.worker import WARM_MODULES, PointTask, failed_row, run_task, warm_up
from engine.errors import InputError

Row = dict[str, Any]


def run_in_process(tasks: Iterable[PointTask]) -> Iterator[Row]:
    """One point after another in this process (workers = 1: no pickling, no start-up)."""
    warm_up()
    for task in tasks:
        yield run_task(task)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` processes forked from a server that has imported the pipeline."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["engine.batch.worker", *WARM_MODULES])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=warm_up)


def run_process_pool(tasks: Iterable[PointTask], workers: int,
                     pool: ProcessPoolExecutor | None = None) -> Iterator[Row]:
    """A pool of `workers` processes, started once and reused for every point; pass `pool` to
    reuse one across calls (the caller then shuts it down)."""
    if pool is None:
        with process_pool(workers) as own:
            yield from run_process_pool(tasks, workers, own)
        return
    pending: dict[Future, PointTask] = {}
    todo = iter(tasks)

    def submit(task: PointTask) -> None:
        pending[pool.submit(run_task, task)] = task

    _top_up(pending, todo, submit, 2 * workers)
    while pending:
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for future in done:
            task = pending.pop(future)
            try:
                yield future.result()
            except BrokenProcessPool:
                raise RuntimeError("a sweep worker process died (out of memory or killed); "
                                   "finished points are saved: rerun with --resume") from None
            except Exception as exc:  # e.g. a value that cannot be pickled back
                yield failed_row(task, f"{type(exc).__name__}: {exc}")
        _top_up(pending, todo, submit, 2 * workers)


def _top_up(pending: dict, todo: Iterator[PointTask], submit: Any, window: int) -> None:
    while len(pending) < window:
        task = next(todo, None)
        if task is None:
            return
        submit(task)


def run_dask(tasks: Iterable[PointTask], address: str, workers: int) -> Iterator[Row]:
    """Dask distributed: `address` of a running scheduler, or `local` for a LocalCluster of
    `workers` single-threaded worker processes started here and closed at the end."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise InputError.single("--dask", "dask", "Dask distributed is not installed",
                                "pip install 'salesops-engine[dask]'") from None

    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=max(workers, 1), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        client.run(warm_up)
        window = 2 * max(sum(client.nthreads().values()), 1)
        token = uuid.uuid4().hex[:8]
        todo = iter(tasks)
        owner: dict[str, PointTask] = {}

        def submit(task: PointTask) -> Any:
            future = client.submit(run_task, task, key=f"salesops-{token}-{task.point_id}", pure=False)
            owner[future.key] = task
            return future

        queue = as_completed([submit(t) for t in _take(todo, window)])
        for future in queue:
            task = owner.pop(future.key)
            try:
                yield future.result()
            except Exception as exc:  # e.g. KilledWorker: the point is recorded as failed
                yield failed_row(task, f"{type(exc).__name__}: {exc}")
            future.release()
            for nxt in _take(todo, 1):
                queue.add(submit(nxt))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _take(todo: Iterator[PointTask], n: int) -> list[PointTask]:
    out = []
    for _ in range(n):
        task = next(todo, None)
        if task is None:
            break
        out.append(task)
    return out
