"""Shared plumbing for the figure modules: sizes, the theory method, simulation through the
sweep runner, and the driver that builds a figure (cached data step, plot step, saving).

The figure protocol: a figure is a module of this package with a top-level ``ORDER = <int>``
(its place in a build; :data:`figures.FIGURES` is discovered from it) and three functions,

* ``params(size) -> dict``: the JSON-able parameters of its data step at ``size`` (one of
  :data:`SIZES`);
* ``compute(p) -> dict[str, np.ndarray]``: the data, where ``p`` is :func:`parameters`, i.e.
  ``params(size)`` plus ``size``, ``method``, ``sim`` and ``seed``;
* ``plot(data, p) -> dict[str, Figure | str]``: the outputs by file stem: a matplotlib Figure is
  saved in :data:`OUT` under its stem as PNG and PDF, a string as Markdown.

:func:`build` runs one figure. Its data are cached in :data:`DATA` as an ``.npz`` named after the
module, beside a ``.json`` of the parameters, a hash of the code that computes them
(:func:`code_hash`), the seconds taken and versions; they are reused while both parameters and hash
are unchanged. The hash covers the figure module *without its* ``plot`` *function* (compared as a
syntax tree, so comments and formatting do not count either), this file, and the packages the data
step runs (:data:`SHARED_SOURCES`): restyling a plot never recomputes, a changed compute step
always does.

Output goes to ``figures/data`` (cached data; ``cells/HASH``, the sweep runner's result store)
and ``figures/out`` (PNG, PDF, Markdown), or under ``$W2S_FIGURES_DIR`` when it is set.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

import asymptotics
from setting import RISK_NAMES
from simulate import RISK_KEYS as SIM_KEYS  # the risks the simulator reports
from w2s import Problem, sweep

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
BASE = Path(os.environ["W2S_FIGURES_DIR"]) if os.environ.get("W2S_FIGURES_DIR") else ROOT
DATA = BASE / "data"
OUT = BASE / "out"
SIZES = ("fast", "default", "full")

# Simulation sizes: core dimension, trials per point, trials per cell. "fast" is a smoke run,
# "default" fits a 2-core CPU in minutes, "full" is the paper's d_z = 2048.
SIM = {
    "fast": {"d_z": 8, "trials": 2, "chunk": 2},
    "default": {"d_z": 128, "trials": 6, "chunk": 6},
    "full": {"d_z": 2048, "trials": 16, "chunk": 4},
}
SEED = 20260928
METHOD = "exact"  # the theory: the exact proportional limit
THEORY_LABEL = "exact theory"

# Sources (relative to the repository root; a directory means its .py files, recursively) that a
# figure's data depend on besides its own module, and those that a simulation cell depends on
# (the ground, :mod:`setting`: the problem, the group laws and their moments).
SHARED_SOURCES = ("figures/_common.py", "asymptotics", "simulate", "setting", "w2s/sweep.py")
SIMULATOR_SOURCES = ("simulate", "setting", "w2s/sweep.py")

# Where simulation cells run; set by ``python -m figures --dask/--workers``.
RUNNER: dict[str, Any] = {"dask": None, "workers": None}


def versions() -> dict[str, Any]:
    """What a figure's data record about where they were computed (:func:`w2s.sweep.environment`)."""
    return {**sweep.environment(), **sweep.git_revision()}


# ------------------------------------------------------------------------------- code hashes
def source_files(paths: Iterable[str], root: Path | None = None) -> list[Path]:
    """The files ``paths`` name, relative to ``root`` (default :data:`REPO`): a directory stands
    for all its ``.py`` files, recursively."""
    root = REPO if root is None else root
    files = []
    for rel in paths:
        path = root / rel
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def sources_hash(paths: Iterable[str], root: Path | None = None) -> str:
    """sha256 over :func:`source_files`: each file's path relative to ``root`` and its bytes."""
    root = REPO if root is None else root
    h = hashlib.sha256()
    for f in source_files(paths, root):
        body = f.read_bytes()
        h.update(f"{f.relative_to(root).as_posix()}\0{len(body)}\0".encode() + body)
    return h.hexdigest()


def data_source(path: str | os.PathLike) -> str:
    """The syntax tree of a figure module without its ``plot`` function, as text: what of the
    module the data step can depend on. Comments and formatting are not part of it."""
    tree = ast.parse(Path(path).read_text())
    tree.body = [n for n in tree.body if not (isinstance(n, ast.FunctionDef) and n.name == "plot")]
    return ast.dump(tree)


def code_hash(path: str | os.PathLike) -> str:
    """sha256 of the code that computes a figure's data: its module at ``path`` without ``plot``
    (:func:`data_source`) and :data:`SHARED_SOURCES`. A change to ``plot`` alone keeps it."""
    return hashlib.sha256(f"{data_source(path)}\0{sources_hash(SHARED_SOURCES)}".encode()).hexdigest()


def cells_dir(name: str) -> Path:
    """``DATA/name/HASH``, a store of simulation cells named by the hash of the simulator's source
    (:data:`SIMULATOR_SOURCES`): cells that other simulator code computed are never read back."""
    return DATA / name / sources_hash(SIMULATOR_SOURCES)[:16]


# ------------------------------------------------------------------------------------ driver
def name_of(fig: ModuleType) -> str:
    """A figure's name: its module's file name (also when run as ``python -m figures.NAME``)."""
    return Path(fig.__file__).stem


def parameters(fig: ModuleType, size: str) -> dict[str, Any]:
    """``fig.params(size)`` with the driver's part: ``size``, theory ``method``, ``sim`` sizes, ``seed``."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r} (known: {', '.join(SIZES)})")
    common = {"size": size, "method": METHOD, "sim": SIM[size], "seed": SEED}
    own = fig.params(size)
    if clash := sorted(common.keys() & own.keys()):
        raise ValueError(f"{name_of(fig)}.params: {clash} are set by the driver")
    return {**common, **own}


def data(fig: ModuleType, p: dict[str, Any]) -> dict[str, np.ndarray]:
    """``fig.compute(p)``, or its result read back from ``DATA/NAME.npz`` when the ``.json``
    beside it has the same parameters ``p`` and the same :func:`code_hash`."""
    name = name_of(fig)
    DATA.mkdir(parents=True, exist_ok=True)
    npz, meta = DATA / f"{name}.npz", DATA / f"{name}.json"
    key = {"params": json.loads(json.dumps(p, sort_keys=True)), "code": code_hash(fig.__file__)}
    if npz.exists() and meta.exists():
        old = json.loads(meta.read_text())
        if {k: old.get(k) for k in key} == key:
            with np.load(npz) as f:
                return dict(f)
    t0 = time.perf_counter()
    out = {k: np.asarray(v) for k, v in fig.compute(p).items()}
    tmp = npz.with_suffix(".tmp.npz")
    np.savez(tmp, **out)
    tmp.replace(npz)
    meta.write_text(json.dumps({**key, "seconds": time.perf_counter() - t0, "versions": versions()}, indent=2))
    return out


def save(outputs: dict[str, Any]) -> list[Path]:
    """Write ``plot``'s outputs to :data:`OUT` under their stems: a Figure as PNG and PDF (then
    closed), a string as Markdown."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    OUT.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, out in outputs.items():
        if isinstance(out, str):
            paths.append(OUT / f"{stem}.md")
            paths[-1].write_text(out)
        elif isinstance(out, Figure):
            for path in (OUT / f"{stem}.png", OUT / f"{stem}.pdf"):
                out.savefig(path, dpi=150 if path.suffix == ".png" else None, bbox_inches="tight")
                paths.append(path)
            plt.close(out)
        else:
            raise TypeError(f"plot output {stem!r} is a {type(out).__name__}, not a Figure or a str")
    return paths


def build(fig: ModuleType, size: str) -> list[Path]:
    """Data (cached), plot and save one figure; returns the paths written."""
    p = parameters(fig, size)
    return save(fig.plot(data(fig, p), p))


# ------------------------------------------------------------------------------------ theory
def theory(problems: list[Problem], method: str = METHOD) -> dict[str, np.ndarray]:
    """Teacher risk, student risk, gain and relative gain at each problem (all of one shape),
    through the compiled programs of :func:`asymptotics.evaluate`."""
    return asymptotics.evaluate(problems, "risks", method)


def printed_risks(problems: list[Problem]) -> dict[str, np.ndarray]:
    """The paper's printed forms taken literally (any group model): teacher, student, gain."""
    out = asymptotics.evaluate(problems, "printed")
    return {k: out[k] for k in RISK_NAMES}


def eta_u_star(problems: list[Problem], method: str = METHOD) -> np.ndarray:
    """The gain's maximiser over eta_u in [0, 1] at each problem (exact), or the printed formula's
    unconstrained maximiser (``method="printed"``)."""
    if method == "printed":
        return asymptotics.evaluate(problems, "printed")["eta_u_star_printed"]
    return asymptotics.evaluate(problems, "point", method)["eta_u_star"]


# -------------------------------------------------------------------------------- simulation


def simulate_points(problems: list[Problem], size: str, desc: str = "cells") -> dict[str, np.ndarray]:
    """Monte-Carlo means and standard errors at each problem, through the resumable sweep runner.

    Returns ``{quantity: (len(problems), 2) array of (mean, se)}`` for the quantities in
    :data:`SIM_KEYS`, plus ``"trials"``; empty for no problems. Cells go to
    :func:`cells_dir` ``("cells")`` and are not recomputed while the simulator's source is unchanged.
    """
    if not problems:
        return {}
    from w2s.sweep import grid_cells, pool_by_point, run

    s = SIM[size]
    cells = grid_cells([q.replace(d_z=s["d_z"]) for q in problems], trials=s["trials"], seed=SEED, chunk=s["chunk"])
    results = pool_by_point(cells, run(cells, cells_dir("cells"), desc=desc, **RUNNER))
    out = {k: np.array([[r[k]["mean"], r[k]["se"]] for r in results], dtype=np.float64) for k in SIM_KEYS}
    out["trials"] = np.array([r["trials"] for r in results])
    return out


def sim_curves(values: tuple, size: str) -> tuple:
    """The curves of a figure that get simulation markers: all, or only the first in a FAST run
    (each new sample-size shape costs the simulator a compilation)."""
    return values[:1] if size == "fast" else values


def errorbar(ax, x, est: np.ndarray, **kw):
    """Simulation markers with one-standard-error bars."""
    kw = {"fmt": "o", "ms": 4, "capsize": 2, "elinewidth": 1, "mfc": "white", **kw}
    return ax.errorbar(x, est[:, 0], yerr=est[:, 1], **kw)


def sim_note(p: dict[str, Any], trials: np.ndarray) -> str:
    """The caption of the simulation markers at the parameters ``p``."""
    return f"markers: simulation, $d_z = {p['sim']['d_z']}$, {int(trials[0])} trials, ±1 s.e."


# ------------------------------------------------------------------------------------- docs
def write_docs_block(docs: Path, marker: str, text: str, prog: str) -> None:
    """Replace the text between ``docs``' ``marker`` markers with ``text``; a missing file or
    marker stops ``prog`` with a one-line error."""
    from w2s.markers import MarkersError, write_between

    try:
        write_between(docs, marker, text)
    except MarkersError as e:
        raise SystemExit(f"{prog}: error: {e}") from None


# ------------------------------------------------------------------------------- deep path
def deep_cell(config: dict[str, Any], *, seed: int) -> dict:
    """One cell of a deep figure (a :class:`w2s.sweep.Job`): :func:`simulate.deep.run_w2s` on the
    configuration ``config["deep"]`` with ``jax.random.key(seed)``, the remedy when
    ``config["remedy"]``. The config's other entries (the backbones' or features' identities) only
    make the cell's key change when they change."""
    import jax

    import simulate.deep as deep

    cfg = deep.DeepConfig(**config["deep"])
    return deep.run_w2s(cfg, key=jax.random.key(seed), with_probes=False, remedy=config["remedy"])


def deep_records(jobs: list, store_root: str | os.PathLike, desc: str) -> list[dict]:
    """Every job's stored record (``result``, ``seconds``, environment), computing in this process
    those not yet in the store at ``store_root`` (:func:`w2s.sweep.run`, resumable)."""
    return sweep.run(jobs, store_root, fn=deep_cell, desc=desc, records=True)
