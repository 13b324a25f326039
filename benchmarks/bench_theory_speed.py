"""How fast the theory answers, against the code as it was before the compiled programs.

*Baseline*: the theory of commit :data:`BASELINE_REV` (eager CLI, a sequential ``lax.map`` over
grid points), checked out from this repository's own history into a temporary folder and run in
a subprocess with the same Python and JAX, in the same run as ours.

* ``theory_cli``: wall time of ``w2s theory --config examples/mixture.toml --json`` in a fresh
  process, run twice with an empty compiled-program cache before the first run (ours: the first
  run compiles and saves, the second loads). ``ours_s`` is the second run; the first is in the notes.
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
from w2s import Problem

ROOT = Path(__file__).resolve().parents[1]
# The last commit whose theory predates the compiled programs (jax 0.12, Python 3.12).
BASELINE_REV = "e686894"
CLI = ["-m", "w2s.cli", "theory", "--config", str(ROOT / "examples" / "mixture.toml"), "--json"]
PHASE = dict(p_T=3, p_S=2, mu_T2=16.0, mu_S2=0.0, eta_t=0.5, similarity=0.0, gamma=0.1, nu=0.05)

_OLD_GRID = """
import json, sys, time
import numpy as np, jax
import asymptotics
from w2s import Problem
assert asymptotics.__file__.startswith(sys.argv[1]), asymptotics.__file__
base = Problem.from_scalars(**json.loads(sys.argv[2]))
eta = np.linspace(0.0, 1.0, int(sys.argv[3]))
run = lambda: np.asarray(asymptotics.on_grid(asymptotics.gain_exact, base, eta_l=eta[None, :], eta_u=eta[:, None]))
t0 = time.perf_counter(); first = run(); t1 = time.perf_counter(); again = run(); t2 = time.perf_counter()
print(json.dumps({"first": t1 - t0, "seconds": t2 - t1, "gain": again.tolist()}))
"""


def _baseline_tree(tmp: Path) -> Path | None:
    """The baseline's packages, from git; None where the history is not available."""
    tree = tmp / "baseline"
    tree.mkdir()
    try:
        archive = subprocess.run(
            ["git", "archive", BASELINE_REV, "asymptotics", "w2s", "simulate"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return tree


def _timed(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, *cmd], env=env, capture_output=True, text=True, check=True, cwd=cwd)
    return time.perf_counter() - t0, out.stdout


def theory_cli() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "W2S_CACHE": tmp}
        ours_first, out1 = _timed(CLI, env)
        ours_second, out2 = _timed(CLI, env)
        assert json.loads(out1) == json.loads(out2)
        row = {"ours_s": ours_second, "compile_s": ours_first - ours_second}
        tree = _baseline_tree(Path(tmp))
        if tree is None:
            row["notes"] = f"first run {ours_first:.2f} s, second {ours_second:.2f} s; baseline: no git history"
            return row
        # Run outside the checkout: `python -m` puts the working directory first on sys.path.
        old_env = {**env, "PYTHONPATH": str(tree)}
        check = [sys.executable, "-c", f"import asymptotics; assert asymptotics.__file__.startswith({str(tree)!r})"]
        subprocess.run(check, env=old_env, check=True, cwd=tmp)
        old_first, old_out = _timed(CLI, old_env, cwd=Path(tmp))
        old_second, _ = _timed(CLI, old_env, cwd=Path(tmp))
        new, old = json.loads(out2), json.loads(old_out)
        diff = max(abs(new[k] - old[k]) / abs(old[k]) for k in ("teacher_risk", "student_risk", "gain"))
        row.update(baseline_s=old_second, ratio=old_second / ours_second)
        row["notes"] = (
            f"w2s theory --config examples/mixture.toml --json, fresh process each: ours first run {ours_first:.2f} s "
            f"(compiles and saves), second {ours_second:.2f} s (loads); baseline ({BASELINE_REV}) first "
            f"{old_first:.2f} s, second {old_second:.2f} s; max relative difference of the risks {diff:.1e}"
        )
        return row


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
    row = {"ours_s": ours64, "compile_s": max(first64 - ours64, 0.0)}
    notes = (
        f"exact gain, phase-figure problem (mixture p_T=3 p_S=2 ||mu_T||^2=16 gamma=0.1 nu=0.05), "
        f"64x64 after compiling: ours {ours64:.3f} s; 256x256: ours {ours256:.2f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tree = _baseline_tree(Path(tmp))
        if tree is None:
            row["notes"] = notes + "; baseline: no git history"
            return row
        out = subprocess.run(
            [sys.executable, "-c", _OLD_GRID, str(tree), json.dumps(PHASE), "64"],
            env={**os.environ, "PYTHONPATH": str(tree)},
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp,
        )
    old = json.loads(out.stdout)
    ref = np.asarray(old["gain"])
    diff = float(np.max(np.abs(gain64 - ref)) / np.max(np.abs(ref)))
    row.update(baseline_s=old["seconds"], ratio=old["seconds"] / ours64)
    row["notes"] = notes + (
        f"; baseline ({BASELINE_REV}: on_grid, sequential lax.map) {old['seconds']:.2f} s after compiling "
        f"(first call {old['first']:.1f} s); max difference relative to max |gain| {diff:.1e}"
    )
    return row


BENCHMARKS = {"theory_cli": theory_cli, "theory_grid_64": theory_grid_64}
