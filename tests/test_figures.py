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
