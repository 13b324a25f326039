"""`make figures FAST=1`: every figure in figures.FIGURES is built (PNG and PDF) in a temporary directory;
the figure protocol, its discovery, and the cache of the data step keyed by parameters and code."""

from __future__ import annotations

import itertools
import json
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

    from figures.__main__ import write_times
    from w2s.markers import markers

    BEGIN, END = markers("times")
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{BEGIN}\nstale\n{END}\noutro\n")
    write_times({"trends": 12.3, "phase": 40.0}, "default", readme)
    text = readme.read_text()
    assert "stale" not in text and text.startswith("intro\n") and text.endswith("outro\n")
    assert "| `trends` | 12 s |" in text and "| `phase` | 40 s |" in text and "| all | 52 s |" in text
    readme.write_text("no markers")
    with pytest.raises(SystemExit, match="markers"):
        write_times({"trends": 1.0}, "default", readme)


FAKE = """
from __future__ import annotations

import numpy as np

ORDER = 1
CALLS = []


def params(size: str) -> dict:
    return {"n": 3}


def compute(p: dict) -> dict[str, np.ndarray]:
    CALLS.append(p["size"])
    return {"x": np.arange(p["n"]) * 1.0}


def plot(data, p: dict) -> dict:
    return {"fake": "colour: red"}
"""


_LOADS = itertools.count()


def _load(path: Path):
    """A fresh module from ``path`` (each call a new module object)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"fake_figure_{next(_LOADS)}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cache_is_keyed_by_compute_code_and_parameters_not_plot(tmp_path, monkeypatch):
    import numpy as np

    from figures import _common

    monkeypatch.setattr(_common, "DATA", tmp_path / "data")
    monkeypatch.setattr(_common, "OUT", tmp_path / "out")
    shared = tmp_path / "repo" / "sim.py"  # stands for the shared sources (asymptotics, simulate, ...)
    shared.parent.mkdir()
    shared.write_text("A = 1\n")
    monkeypatch.setattr(_common, "REPO", shared.parent)
    monkeypatch.setattr(_common, "SHARED_SOURCES", ("sim.py",))
    fig = tmp_path / "fake.py"

    def build(source: str) -> tuple[list[str], np.ndarray]:
        fig.write_text(source)
        mod = _load(fig)
        paths = _common.build(mod, "fast")
        assert [p.name for p in paths] == ["fake.md"] and paths[0].read_text().startswith("colour")
        with np.load(tmp_path / "data" / "fake.npz") as f:
            return mod.CALLS, f["x"].tolist()

    assert build(FAKE) == (["fast"], [0.0, 1.0, 2.0])
    assert build(FAKE)[0] == []  # unchanged: read back
    restyled = FAKE.replace("colour: red", "colour: blue") + "# a comment\n"
    assert build(restyled)[0] == []  # only plot (and a comment) changed: read back
    calls, x = build(restyled.replace("* 1.0", "* 2.0"))  # compute changed: recomputed
    assert calls == ["fast"] and x == [0.0, 2.0, 4.0]
    changed = restyled.replace("* 1.0", "* 2.0")
    assert build(changed)[0] == []
    assert build(changed.replace('"n": 3', '"n": 4'))[0] == ["fast"]  # parameters changed
    changed = changed.replace('"n": 3', '"n": 4')
    shared.write_text("A = 2\n")  # a shared source changed
    assert build(changed)[0] == ["fast"]
    meta = json.loads((tmp_path / "data" / "fake.json").read_text())
    assert meta["code"] == _common.code_hash(fig) and meta["params"]["n"] == 4 and meta["params"]["size"] == "fast"


def test_code_hash_of_a_real_figure_ignores_plot(tmp_path):
    from figures import _common

    source = (ROOT / "figures" / "phase.py").read_text()
    copy = tmp_path / "phase.py"
    copy.write_text(source)
    before = _common.code_hash(copy)
    assert 'cmap="RdBu"' in source and "11 if size" in source
    copy.write_text(source.replace('cmap="RdBu"', 'cmap="PuOr"'))  # inside plot
    assert _common.code_hash(copy) == before
    copy.write_text(source.replace("11 if size", "12 if size"))  # inside params
    assert _common.code_hash(copy) != before


def test_code_hashes_cover_the_packages_that_compute(tmp_path, monkeypatch):
    from figures import _common

    shared = {p.relative_to(ROOT).as_posix() for p in _common.source_files(_common.SHARED_SOURCES)}
    for name in ("figures/_common.py", "asymptotics/__init__.py", "simulate/__init__.py", "simulate/deep/__init__.py"):
        assert name in shared
    assert {"setting/problem.py", "w2s/sweep.py"} <= shared and not any(n.startswith("w2s/commands") for n in shared)
    simulator = {p.relative_to(ROOT).as_posix() for p in _common.source_files(_common.SIMULATOR_SOURCES)}
    assert {
        "simulate/_trial.py",
        "setting/groups.py",
        "setting/moments.py",
        "setting/problem.py",
        "w2s/sweep.py",
    } <= simulator
    # the cell stores are named by the simulator's source
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "sub" / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(_common, "REPO", tmp_path)
    monkeypatch.setattr(_common, "SIMULATOR_SOURCES", ("pkg",))
    before = _common.cells_dir("cells")
    (tmp_path / "pkg" / "notes.txt").write_text("not source")
    assert _common.cells_dir("cells") == before
    (tmp_path / "pkg" / "sub" / "a.py").write_text("x = 2\n")
    assert _common.cells_dir("cells") != before and _common.cells_dir("cells").parent == _common.DATA / "cells"


def test_figures_are_discovered_and_follow_the_protocol():
    import importlib
    import inspect

    from figures import FIGURES, _common

    modules = sorted(p.stem for p in (ROOT / "figures").glob("*.py") if not p.stem.startswith("_"))
    assert sorted(n.split(".")[-1] for n in FIGURES) == modules
    assert FIGURES[:2] == ["figures.gain_vs_shift", "figures.trends"]
    orders = []
    for name in FIGURES:
        mod = importlib.import_module(name)
        orders.append(mod.ORDER)
        for fn, args in (("params", ["size"]), ("compute", ["p"]), ("plot", ["data", "p"])):
            assert list(inspect.signature(getattr(mod, fn)).parameters) == args, f"{name}.{fn}"
        assert "main" not in vars(mod), f"{name} has its own main"
        for size in _common.SIZES:
            p = _common.parameters(mod, size)  # JSON-able, and no clash with the driver's keys
            assert json.loads(json.dumps(p))["size"] == size
    assert orders == sorted(orders) and len(set(orders)) == len(orders)


def test_only_an_unknown_figure_is_a_one_line_error(capsys):
    import argparse

    from figures.__main__ import _build

    args = argparse.Namespace(fast=True, full=False, group=None, only=["explore"], write_times=False)
    assert _build(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown figure 'explore'" in err and "gain_vs_shift" in err


def test_figure_groups_split_theory_from_deep():
    """`make figures` builds the theory group, `make deep` the deep group; every figure is in one."""
    from figures import FIGURES, GROUPS

    assert set(GROUPS) == set(FIGURES) and set(GROUPS.values()) == {"theory", "deep"}
    assert sorted(n for n, g in GROUPS.items() if g == "deep") == [
        "figures.deep_sweep",
        "figures.deep_tweets",
        "figures.theory_vs_encoders",
    ]
