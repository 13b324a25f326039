"""How fast the theory answers through its compiled programs, against the same theory evaluated
without them, in the same run.

*Baseline*: today's exact theory called the plain way, with no compiled program kept on disk and
no batching: ``asymptotics.risks(problem, "exact")`` eagerly in a fresh process for one problem,
and :func:`asymptotics.on_grid` (``jit`` of ``lax.map`` over vmapped chunks, no staging: each grid
point solves its own teacher and student fixed points) for a grid.

* ``theory_cli``: wall time of ``w2s theory --config examples/mixture.toml --json`` in a fresh
  process, run twice with an empty compiled-program cache before the first run (ours: the first
  run compiles and saves, the second loads). ``ours_s`` is the second run; the first is in the
  notes. The baseline is a fresh process that loads the same problem and prints the eager risks.
* ``theory_grid_64``: the exact gain on a 64 x 64 (eta_l, eta_u) grid of the ``phase`` figure's
  problem, after compiling; the notes add a 256 x 256 grid (ours only).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import asymptotics
from setting import RISK_NAMES
from w2s import Problem

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "mixture.toml"
CLI = ["-m", "w2s.cli", "theory", "--config", str(CONFIG), "--json"]
EAGER = [
    "-c",
    "import json, sys, asymptotics, setting; p = setting.load_problem(sys.argv[1]); "
    "print(json.dumps({k: float(v) for k, v in asymptotics.risks(p, 'exact').items()}))",
    str(CONFIG),
]
PHASE = dict(p_T=3, p_S=2, mu_T2=16.0, mu_S2=0.0, eta_t=0.5, similarity=0.0, gamma=0.1, nu=0.05)


def _timed(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, *cmd], env=env, capture_output=True, text=True, check=True, cwd=cwd)
    return time.perf_counter() - t0, out.stdout


def theory_cli() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "W2S_CACHE": tmp}
        ours_first, out1 = _timed(CLI, env)
        ours_second, out2 = _timed(CLI, env)
        eager_s, eager_out = _timed(EAGER, env)
    new, old = json.loads(out2), json.loads(eager_out)
    assert json.loads(out1) == new
    diff = max(abs(new[k] - old[k]) / abs(old[k]) for k in RISK_NAMES)
    return {
        "ours_s": ours_second,
        "compile_s": ours_first - ours_second,
        "baseline_s": eager_s,
        "ratio": eager_s / ours_second,
        "notes": (
            f"w2s theory --config examples/mixture.toml --json, fresh process each: ours first run {ours_first:.2f} s "
            f"(compiles and saves), second {ours_second:.2f} s (loads); baseline (eager asymptotics.risks in a "
            f"fresh process) {eager_s:.2f} s; max relative difference of the risks {diff:.1e}"
        ),
    }


def theory_grid_64() -> dict:
    base = Problem.from_scalars(**PHASE)

    def ours(n: int) -> tuple[float, float, np.ndarray]:
        eta = np.linspace(0.0, 1.0, n)
        t0 = time.perf_counter()
        asymptotics.evaluate_grid(base, eta_l=eta[None, :], eta_u=eta[:, None])  # compiles or loads
        t1 = time.perf_counter()
        gain = asymptotics.evaluate_grid(base, eta_l=eta[None, :], eta_u=eta[:, None])["gain"]
        return t1 - t0, time.perf_counter() - t1, gain

    first64, ours64, gain64 = ours(64)
    _, ours256, _ = ours(256)
    eta = np.linspace(0.0, 1.0, 64)

    def plain():
        return np.asarray(asymptotics.on_grid(asymptotics.gain_exact, base, eta_l=eta[None, :], eta_u=eta[:, None]))

    t0 = time.perf_counter()
    plain()
    t1 = time.perf_counter()
    ref = plain()
    plain_s = time.perf_counter() - t1
    diff = float(np.max(np.abs(gain64 - ref)) / np.max(np.abs(ref)))
    return {
        "ours_s": ours64,
        "compile_s": max(first64 - ours64, 0.0),
        "baseline_s": plain_s,
        "ratio": plain_s / ours64,
        "notes": (
            f"exact gain, phase-figure problem (mixture p_T=3 p_S=2 ||mu_T||^2=16 gamma=0.1 nu=0.05), "
            f"64x64 after compiling: ours {ours64:.3f} s; 256x256: ours {ours256:.2f} s; baseline (on_grid: "
            f"lax.map over vmapped chunks, every fixed point solved per point) {plain_s:.2f} s after compiling "
            f"(first call {t1 - t0:.1f} s); max difference relative to max |gain| {diff:.1e}"
        ),
    }


BENCHMARKS = {"theory_cli": theory_cli, "theory_grid_64": theory_grid_64}
