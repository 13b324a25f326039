"""Shared plumbing for the figure scripts: sizes, the theory method, simulation through the
sweep runner, the cache of the data step, saving.

Output goes to ``figures/data`` (cached data, and ``cells/``, the sweep runner's result store)
and ``figures/out`` (PNG and PDF), or under ``$W2S_FIGURES_DIR`` when it is set.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

import asymptotics
from simulate import RISK_KEYS as SIM_KEYS  # the risks the simulator reports
from w2s import Problem

ROOT = Path(__file__).resolve().parent
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
CACHE_VERSION = 4

# Theory: the exact proportional-limit method when it is registered, else the leading order.
METHOD = "exact" if "exact" in asymptotics.METHODS else "paper"
THEORY_LABEL = "exact theory" if METHOD == "exact" else "leading-order theory (exact not available)"

# Where simulation cells run; set by ``python -m figures --dask/--workers``.
RUNNER: dict[str, Any] = {"dask": None, "workers": None}


def simulator_available() -> bool:
    try:
        import simulate
    except ImportError:
        return False
    return callable(getattr(simulate, "estimate", None))


def versions() -> dict[str, str]:
    import w2s

    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        rev = ""
    return {"w2s": w2s.__version__, "jax": jax.__version__, "numpy": np.__version__, "git": rev or "unknown"}


def cached(name: str, params: dict[str, Any], compute) -> dict[str, np.ndarray]:
    """Run ``compute()`` unless ``DATA/name.npz`` was made with the same ``params``."""
    DATA.mkdir(parents=True, exist_ok=True)
    npz, meta = DATA / f"{name}.npz", DATA / f"{name}.json"
    # CACHE_VERSION: bumped when shared code changes what a data step computes.
    key = json.dumps({**params, "cache_version": CACHE_VERSION}, sort_keys=True, default=str)
    if npz.exists() and meta.exists() and json.loads(meta.read_text()).get("params") == json.loads(key):
        with np.load(npz) as f:
            return dict(f)
    t0 = time.perf_counter()
    data = {k: np.asarray(v) for k, v in compute().items()}
    tmp = npz.with_suffix(".tmp.npz")
    np.savez(tmp, **data)
    tmp.replace(npz)
    meta.write_text(
        json.dumps(
            {"params": json.loads(key), "seconds": time.perf_counter() - t0, "versions": versions()},
            indent=2,
        )
    )
    return data


def save(fig, name: str) -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    paths = [OUT / f"{name}.png", OUT / f"{name}.pdf"]
    for p in paths:
        fig.savefig(p, dpi=150 if p.suffix == ".png" else None, bbox_inches="tight")
    return paths


# ------------------------------------------------------------------------------------ theory
def theory(problems: list[Problem], method: str = METHOD) -> dict[str, np.ndarray]:
    """Teacher risk, student risk, gain and relative gain at each problem (all of one shape),
    through the compiled programs of :func:`asymptotics.evaluate`."""
    return asymptotics.evaluate(problems, "risks", method)


def printed_gain(problems: list[Problem]) -> dict[str, np.ndarray]:
    """The paper's printed forms taken literally (any group model): teacher, student, gain."""
    out = asymptotics.evaluate(problems, "printed")
    return {k: out[k] for k in ("teacher_risk", "student_risk", "gain")}


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
    :data:`SIM_KEYS` that the simulator reports, plus ``"trials"``; empty when the simulator
    is not available. Cells go to ``DATA/cells`` and are never recomputed.
    """
    if not problems or not simulator_available():
        return {}
    from w2s.sweep import grid_cells, pool_by_point, run

    s = SIM[size]
    cells = grid_cells([q.replace(d_z=s["d_z"]) for q in problems], trials=s["trials"], seed=SEED, chunk=s["chunk"])
    results = pool_by_point(cells, run(cells, DATA / "cells", desc=desc, **RUNNER))
    out = {
        k: np.array([[r[k]["mean"], r[k]["se"]] for r in results], dtype=np.float64)
        for k in SIM_KEYS
        if k in results[0]
    }
    out["trials"] = np.array([r["trials"] for r in results])
    return out


def sim_curves(values: tuple, size: str) -> tuple:
    """The curves of a figure that get simulation markers: all, or only the first in a FAST run
    (each new sample-size shape costs the simulator a compilation)."""
    return values[:1] if size == "fast" else values


def sim_params(size: str) -> dict[str, Any]:
    """What the cached data depends on beyond a figure's own parameters."""
    return {"method": METHOD, "simulator": simulator_available(), "sim": SIM[size], "seed": SEED}


def errorbar(ax, x, est: np.ndarray, **kw):
    """Simulation markers with one-standard-error bars."""
    kw = {"fmt": "o", "ms": 4, "capsize": 2, "elinewidth": 1, "mfc": "white", **kw}
    return ax.errorbar(x, est[:, 0], yerr=est[:, 1], **kw)


def sim_note(size: str, sim: dict) -> str:
    if not sim:
        return "simulation: not available"
    s = SIM[size]
    return f"markers: simulation, $d_z = {s['d_z']}$, {int(sim['trials'][0])} trials, ±1 s.e."
