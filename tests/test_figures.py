"""`make figures FAST=1`: every figure in figures.FIGURES is built (PNG and PDF) in a temporary directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_fast_build_writes_every_figure(tmp_path):
    from figures import FIGURES  # the repository root is on sys.path (tests/ is a package)

    env = {**os.environ, "W2S_FIGURES_DIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "figures", "--fast"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    built = [line.split()[0] for line in proc.stdout.splitlines() if "->" in line]
    assert built == [name.split(".")[-1] for name in FIGURES]
    for line in proc.stdout.splitlines():
        for path in line.partition("->")[2].split(","):
            if path.strip():
                p = Path(path.strip())
                assert p.parent == tmp_path / "out", f"{p} is not under W2S_FIGURES_DIR"
                assert p.stat().st_size > 1000, f"{p} is empty"
    pngs = sorted(p.stem for p in (tmp_path / "out").glob("*.png"))
    pdfs = sorted(p.stem for p in (tmp_path / "out").glob("*.pdf"))
    assert pngs == pdfs and len(pngs) >= len(FIGURES)


def test_stacked_theory_matches_direct_evaluation():
    """figures._common.theory batches only the varying fields; the fixed ones must not go stale."""
    import numpy as np

    import asymptotics
    from figures import _common
    from w2s import Problem

    for a in (1.0, 16.0):  # two calls that differ only in fixed fields share one compilation
        problems = [Problem.from_scalars(p_T=3, p_S=2, mu_T2=a, eta_l=0.1, eta_u=e) for e in (0.1, 0.6, 0.9)]
        got = _common.theory(problems, method="paper")["gain"]
        want = [float(asymptotics.risks(q, "paper")["gain"]) for q in problems]
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_write_times_fills_the_readme_table(tmp_path):
    import pytest

    from figures.__main__ import BEGIN, END, write_times

    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{BEGIN}\nstale\n{END}\noutro\n")
    write_times({"trends": 12.3, "phase": 40.0}, "default", readme)
    text = readme.read_text()
    assert "stale" not in text and text.startswith("intro\n") and text.endswith("outro\n")
    assert "| `trends` | 12 s |" in text and "| `phase` | 40 s |" in text and "| all | 52 s |" in text
    readme.write_text("no markers")
    with pytest.raises(SystemExit, match="markers"):
        write_times({"trends": 1.0}, "default", readme)
