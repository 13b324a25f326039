"""Resumable parameter sweeps: independent cells, an atomic on-disk result store, optional Dask.

A sweep is a list of cells. A :class:`Cell` is one problem, one seed and one trial count (a
grid point, or one chunk of a grid point's trials); it is computed by a *cell function*
``fn(problem, *, trials, seed) -> dict`` (by default :func:`simulate.estimate`). A :class:`Job`
is a cell that is not a problem (a deep-path configuration, say): a JSON-able ``config`` and a
seed, computed by ``fn(config, *, seed) -> dict``. Each finished
cell is written to a :class:`Store` (a directory of JSON files, one per cell, named by a hash of
the cell and the function) with a temporary file and :func:`os.replace`, so a file in the store
is always a complete record. :func:`run` skips every cell already in the store: an interrupted
sweep (killed, crashed, or out of time) resumes where it stopped and recomputes nothing that
was done.

Cells run in this process (on JAX's default device, CPU or GPU) unless a Dask scheduler is
given (``dask="tcp://host:8786"``, :class:`distributed.Client`) or ``workers=K`` asks for a
local Dask cluster of K worker processes. With Dask, results come back to this process and
are written here, so the workers need no shared file system.

Each record holds the cell (problem as :meth:`Problem.to_dict`, seed, trials, ``d_z``; or a job's
config and seed), the function's name, its result, the package and JAX versions and device of
the process that computed it (:func:`environment`), the git revision of the code that ran
(``"unknown"`` when the package is installed from a wheel rather than run from a clone), and the
wall time.

Example::

    cells = grid_cells([problem.replace(eta_u=e) for e in etas], trials=8, seed=0, chunk=4)
    results = run(cells, Store("results/cells"), workers=2)   # one result per cell
    per_point = pool_by_point(cells, results)                  # chunks merged per problem
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import math
import os
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from setting import Problem

from ._json import dumps, from_jsonable, to_jsonable

__all__ = [
    "DEFAULT_FN",
    "Cell",
    "Job",
    "Store",
    "cell_key",
    "environment",
    "git_revision",
    "grid_cells",
    "local_cluster",
    "pool",
    "pool_by_point",
    "run",
]

DEFAULT_FN = "simulate:estimate"
# The folder holding this package: the clone's root when run from a clone (an editable install
# too), site-packages when installed from a wheel.
_CODE = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Cell:
    """One unit of work: ``fn(problem, trials=trials, seed=seed)``."""

    problem: Problem
    seed: int
    trials: int


@dataclass(frozen=True, eq=False)
class Job:
    """One unit of work that is not a problem: ``fn(config, seed=seed)``. ``config`` is plain JSON
    data; everything the result depends on belongs in it (it is hashed into the cell's key)."""

    config: dict[str, Any]
    seed: int


def _payload(cell: Cell | Job) -> dict[str, Any]:
    """What identifies a cell and is sent to the process computing it."""
    if isinstance(cell, Job):
        return {"config": cell.config, "seed": int(cell.seed)}
    return {"problem": cell.problem.to_dict(), "seed": int(cell.seed), "trials": int(cell.trials)}


def _canonical(obj: Any) -> str:
    return dumps(obj, sort_keys=True, separators=(",", ":"))


def _fn_name(fn: str | Callable) -> str:
    if isinstance(fn, str):
        return fn
    return f"{fn.__module__}:{fn.__qualname__}"


def _resolve(fn: str | Callable) -> Callable:
    if not isinstance(fn, str):
        return fn
    module, _, attr = fn.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def cell_key(cell: Cell | Job, fn: str | Callable = DEFAULT_FN) -> str:
    """A stable 24-hex-digit hash of the cell (problem, seed and trials; or config and seed) and
    the function's name."""
    text = _canonical({**_payload(cell), "fn": _fn_name(fn)})
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def grid_cells(problems: Iterable[Problem], *, trials: int, seed: int = 0, chunk: int | None = None) -> list[Cell]:
    """Cells for ``trials`` trials at each problem, split into chunks of ``chunk`` trials (a last
    chunk of one trial joins the one before it).

    The seed of chunk ``j`` at a problem is a hash of (problem, ``seed``, ``j``), not of the
    problem's position in the list: refining or reordering a grid reuses the cells already done,
    and different grid points get independent random numbers.
    """
    if trials < 1:
        raise ValueError(f"trials: must be >= 1, got {trials}")
    chunk = trials if chunk is None else chunk
    if chunk < 1:
        raise ValueError(f"chunk: must be >= 1, got {chunk}")
    sizes = [min(chunk, trials - start) for start in range(0, trials, chunk)]
    if len(sizes) > 1 and sizes[-1] == 1:  # no one-trial chunk: it has no standard error
        sizes[-2:] = [sizes[-2] + 1]
    cells = []
    for problem in problems:
        base = _canonical(problem.to_dict())
        for j, size in enumerate(sizes):
            h = hashlib.sha256(f"{base}|{int(seed)}|{j}".encode()).digest()
            cells.append(Cell(problem, int.from_bytes(h[:4], "little") >> 1, size))
    return cells


# ------------------------------------------------------------------------------------- store
class Store:
    """A directory of JSON records, one per finished cell, each written atomically."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def __contains__(self, key: str) -> bool:
        return self.path(key).exists()

    def keys(self) -> set[str]:
        return {p.stem for p in self.root.glob("*.json")}

    def get(self, key: str) -> dict | None:
        """The record for ``key``, or None when the cell has not finished."""
        try:
            return from_jsonable(json.loads(self.path(key).read_text()))
        except FileNotFoundError:
            return None

    def put(self, key: str, record: dict) -> None:
        """Write ``record`` to a temporary file and rename it into place (atomic on POSIX)."""
        tmp = self.root / f".{key}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        with open(tmp, "w") as f:
            f.write(dumps(record, indent=1, sort_keys=True))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path(key))


# --------------------------------------------------------------------------------- compute
@functools.lru_cache(maxsize=1)
def environment() -> dict[str, str]:
    """Versions, device and host of this process: what every stored result records about where it
    was computed (a cell records its Dask worker's own)."""
    import jax

    import w2s

    return {
        "w2s": w2s.__version__,
        "jax": jax.__version__,
        "jaxlib": importlib.import_module("jaxlib").__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": str(jax.devices()[0]),
        "host": platform.node(),
    }


@functools.lru_cache(maxsize=1)
def git_revision() -> dict[str, Any]:
    """The HEAD of the clone this package runs from, and whether its tracked files differ from it.

    ``"unknown"`` unless the folder holding the package is the top of a git work tree: an install
    from a wheel (site-packages, even inside some other repository) has no revision of its own.
    """

    def git(*args: str) -> subprocess.CompletedProcess | None:
        try:
            return subprocess.run(["git", *args], cwd=_CODE, capture_output=True, text=True, check=False, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None

    head = git("rev-parse", "--show-toplevel", "HEAD")
    lines = [] if head is None or head.returncode != 0 else head.stdout.split("\n")
    if len(lines) < 2 or Path(lines[0]).resolve() != _CODE:
        return {"git": "unknown", "git_dirty": None}
    diff = git("diff", "--quiet", "HEAD", "--")
    return {"git": lines[1].strip(), "git_dirty": None if diff is None else diff.returncode != 0}


def _compute(fn: str | Callable, payload: dict) -> dict:
    """Run one cell (in this process or on a Dask worker) and return its result and environment."""
    t0 = time.perf_counter()
    if "problem" in payload:
        result = _resolve(fn)(Problem.from_dict(payload["problem"]), trials=payload["trials"], seed=payload["seed"])
    else:
        result = _resolve(fn)(payload["config"], seed=payload["seed"])
    return {"result": to_jsonable(result), "seconds": time.perf_counter() - t0, "environment": environment()}


def run(
    cells: Sequence[Cell | Job],
    store: Store | str | os.PathLike,
    *,
    fn: str | Callable = DEFAULT_FN,
    dask: str | Any | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    desc: str = "cells",
    records: bool = False,
) -> list[dict]:
    """Compute every cell not yet in ``store`` and return all cells' results, in order.

    Args:
        cells: the sweep (:class:`Cell` s or :class:`Job` s); duplicate cells are computed once.
        store: a :class:`Store` or its directory.
        fn: the cell function (``fn(problem, *, trials, seed) -> dict`` for cells, ``fn(config, *,
            seed) -> dict`` for jobs) or its ``"module:name"``; its name is part of each cell's
            key. Under Dask it must be importable on the workers.
        dask: a scheduler address (``"tcp://host:8786"``) or a :class:`distributed.Client`.
        workers: start a local Dask cluster with this many worker processes (one thread each).
        progress: a tqdm bar on stderr; default: only when stderr is a terminal.
        desc: the bar's label.
        records: return each cell's whole stored record (result, seconds, environment, ...).

    Returns:
        ``fn``'s result (as plain JSON types) for each cell, or its record.
    """
    if dask is not None and workers is not None:
        raise ValueError("give at most one of dask= and workers=")
    if workers is not None and workers < 1:
        raise ValueError(f"workers: must be >= 1, got {workers}")
    store = store if isinstance(store, Store) else Store(store)
    fn_name = _fn_name(fn)
    keys = [cell_key(c, fn_name) for c in cells]
    todo = {k: c for k, c in zip(keys, cells, strict=True) if k not in store}
    if todo:
        show = sys.stderr.isatty() if progress is None else progress
        bar = None
        if show:
            from tqdm.auto import tqdm

            bar = tqdm(
                total=len(set(keys)), initial=len(set(keys)) - len(todo), desc=desc, unit="cell", file=sys.stderr
            )
        context = {"fn": fn_name, **git_revision()}
        try:
            if dask is None and workers is None:
                for key, cell in todo.items():
                    _finish(store, key, cell, context, _compute(fn, _payload(cell)))
                    if bar is not None:
                        bar.update()
            else:
                _run_dask(todo, store, fn, context, dask, workers, bar)
        finally:
            if bar is not None:
                bar.close()
    out = []
    for key in keys:
        record = store.get(key)
        if record is None:  # only if the store was changed under us
            raise RuntimeError(f"cell {key} is missing from {store.root} after the sweep")
        out.append(record if records else record["result"])
    return out


def _finish(store: Store, key: str, cell: Cell | Job, context: dict, computed: dict) -> None:
    size = {} if isinstance(cell, Job) else {"d_z": int(cell.problem.d_z)}
    store.put(
        key,
        {
            "key": key,
            **_payload(cell),
            **size,
            **context,
            **computed,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )


def local_cluster(workers: int):
    """A :class:`distributed.Client` of a new local Dask cluster: ``workers`` processes, one thread
    each (JAX uses the cores itself), no dashboard. ``client.close(); client.cluster.close()``
    shuts both down."""
    import distributed

    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    return distributed.Client(cluster)


def _run_dask(todo: dict[str, Cell | Job], store: Store, fn, context, dask, workers, bar) -> None:
    import distributed

    own = None
    if isinstance(dask, distributed.Client):
        client = dask
    elif dask is not None:
        client = own = distributed.Client(dask)
    else:
        client = own = local_cluster(workers)
    try:
        futures = {}
        for key, cell in todo.items():
            fut = client.submit(_compute, fn, _payload(cell), key=f"w2s-cell-{key}")
            futures[fut] = key
        try:
            for fut in distributed.as_completed(futures):
                key = futures[fut]
                _finish(store, key, todo[key], context, fut.result())
                if bar is not None:
                    bar.update()
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        if own is not None:
            cluster = own.cluster
            own.close()
            if cluster is not None and dask is None:
                cluster.close()


# ----------------------------------------------------------------------------------- pooling
def pool(results: Sequence[dict]) -> dict:
    r"""Merge estimates of the same problem from several cells (chunks of its trials).

    Every entry that is a ``{"mean", "se"}`` dict is pooled exactly from the chunks' counts
    :math:`n_i = ` ``trials``, means and standard errors, assuming
    :math:`\mathrm{se}_i = s_i/\sqrt{n_i}` with :math:`s_i` the sample standard deviation
    (ddof = 1): :math:`\bar m = \sum n_i m_i / n`,
    :math:`s^2 = [\sum (n_i-1)s_i^2 + \sum n_i(m_i-\bar m)^2]/(n-1)`, :math:`\mathrm{se} = s/\sqrt n`.
    ``trials`` is summed, ``seed`` becomes the list of seeds, other entries are taken from the first.
    """
    if not results:
        raise ValueError("pool: no results")
    if len(results) == 1:
        return dict(results[0])
    counts = np.array([float(r["trials"]) for r in results])
    total = counts.sum()
    out: dict[str, Any] = {}
    for name, first in results[0].items():
        if isinstance(first, dict) and {"mean", "se"} <= set(first):
            m = np.array([float(r[name]["mean"]) for r in results])
            se = np.array([float(r[name]["se"]) for r in results])
            mean = float(np.sum(counts * m) / total)
            within = np.where(counts > 1, (counts - 1) * np.nan_to_num(se) ** 2 * counts, 0.0)
            ss = float(np.sum(within) + np.sum(counts * (m - mean) ** 2))
            out[name] = {**first, "mean": mean, "se": math.sqrt(ss / (total - 1) / total) if total > 1 else math.nan}
        elif name == "trials":
            out[name] = int(total)
        elif name == "seed":
            out[name] = [r.get("seed") for r in results]
        else:
            out[name] = first
    return out


def pool_by_point(cells: Sequence[Cell], results: Sequence[dict]) -> list[dict]:
    """Pool the results of consecutive cells that share a problem (as :func:`grid_cells` makes them)."""
    groups: list[tuple[str, list[dict]]] = []
    for cell, result in zip(cells, results, strict=True):
        key = _canonical(cell.problem.to_dict())
        if groups and groups[-1][0] == key:
            groups[-1][1].append(result)
        else:
            groups.append((key, [result]))
    return [pool(rs) for _, rs in groups]
