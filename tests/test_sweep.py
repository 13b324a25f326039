"""The sweep runner: resume after a kill or a crash, Dask = in-process, pooling of chunks.

The cell function here is a cheap deterministic stand-in for ``simulate.estimate`` (same
signature and result shape) that logs every call to a file, so a test can count what was
computed, across processes (a killed subprocess, Dask workers).
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from w2s import Problem
from w2s.sweep import Cell, Job, Store, cell_key, grid_cells, pool, pool_by_point, run

ROOT = Path(__file__).resolve().parent.parent
FN = "tests.test_sweep:fake_cell"
LOG = "W2S_TEST_SWEEP_LOG"  # file that fake_cell appends each computed cell's key to
SLEEP = "W2S_TEST_SWEEP_SLEEP"  # seconds each fake cell takes
FAIL = "W2S_TEST_SWEEP_FAIL"  # eta_u at which fake_cell raises (an injected crash)


def fake_cell(problem: Problem, *, trials: int, seed: int) -> dict:
    """Stand-in for simulate.estimate: a seeded draw around eta_u, and a log line per call."""
    if os.environ.get(FAIL) and float(os.environ[FAIL]) == problem.eta_u:
        raise RuntimeError("injected failure")
    if os.environ.get(LOG):
        with open(os.environ[LOG], "a") as f:
            f.write(cell_key(Cell(problem, seed, trials), FN) + "\n")
    time.sleep(float(os.environ.get(SLEEP, "0")))
    x = problem.eta_u + np.random.default_rng(seed).standard_normal(trials)
    se = float(x.std(ddof=1) / math.sqrt(trials)) if trials > 1 else math.nan
    est = {"mean": float(x.mean()), "se": se}
    return {"gain": est, "trials": trials, "seed": seed, "d_z": problem.d_z}


def _cells(points: int = 12, trials: int = 4, chunk: int = 2) -> list[Cell]:
    base = Problem.from_scalars(p_T=3, p_S=2, mu_T2=4.0, eta_l=0.1, d_z=16)
    return grid_cells(
        [base.replace(eta_u=e) for e in np.linspace(0.0, 1.0, points)], trials=trials, seed=3, chunk=chunk
    )


def _logged(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _sweep_main(store: str) -> None:
    """Entry point of the subprocess that the kill test SIGKILLs mid-sweep."""
    run(_cells(), store, fn=FN, progress=False)


def test_resume_after_sigkill(tmp_path, monkeypatch):
    cells = _cells()
    keys = [cell_key(c, FN) for c in cells]
    reference = run(cells, tmp_path / "reference", fn=FN, progress=False)

    store_dir, log = tmp_path / "store", tmp_path / "killed.log"
    env = {**os.environ, LOG: str(log), SLEEP: "0.3"}
    code = f"from tests.test_sweep import _sweep_main; _sweep_main({str(store_dir)!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while len(list(store_dir.glob("*.json"))) < 5:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "the sweep made no progress"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = Store(store_dir).keys()
    assert 5 <= len(done) < len(set(keys))
    # every file in the store is a complete record (atomic writes), whatever the kill interrupted
    for key in done:
        assert json.loads(Store(store_dir).path(key).read_text())["key"] == key

    rerun_log = tmp_path / "rerun.log"
    monkeypatch.setenv(LOG, str(rerun_log))
    resumed = run(cells, store_dir, fn=FN, progress=False)
    recomputed = _logged(rerun_log)
    assert not set(recomputed) & done, "the rerun recomputed cells that were done"
    assert sorted(recomputed) == sorted(set(keys) - done), "each missing cell is computed exactly once"
    assert resumed == reference

    monkeypatch.setenv(LOG, str(tmp_path / "third.log"))
    assert run(cells, store_dir, fn=FN, progress=False) == reference
    assert _logged(tmp_path / "third.log") == []


def test_resume_after_exception(tmp_path, monkeypatch):
    cells = _cells(points=6, trials=2, chunk=2)
    keys = [cell_key(c, FN) for c in cells]
    log = tmp_path / "calls.log"
    monkeypatch.setenv(LOG, str(log))
    monkeypatch.setenv(FAIL, str(cells[3].problem.eta_u))
    with pytest.raises(RuntimeError, match="injected failure"):
        run(cells, tmp_path / "store", fn=FN, progress=False)
    assert Store(tmp_path / "store").keys() == set(keys[:3])

    monkeypatch.delenv(FAIL)
    log.unlink()
    resumed = run(cells, tmp_path / "store", fn=FN, progress=False)
    assert _logged(log) == keys[3:]
    monkeypatch.delenv(LOG)
    assert resumed == run(cells, tmp_path / "fresh", fn=FN, progress=False)


def test_record_contents(tmp_path):
    cell = _cells(points=1, trials=3, chunk=3)[0]
    run([cell], tmp_path, fn=FN, progress=False)
    record = Store(tmp_path).get(cell_key(cell, FN))
    assert Problem.from_dict(record["problem"]).to_dict() == cell.problem.to_dict()
    assert (record["seed"], record["trials"], record["d_z"], record["fn"]) == (cell.seed, 3, 16, FN)
    assert {"w2s", "jax", "jaxlib", "numpy", "device"} <= set(record["environment"])
    assert "git" in record and "seconds" in record
    assert not list(tmp_path.glob(".*.tmp")), "no temporary files are left behind"


def job_fn(config, *, seed):
    """A cell function for jobs (module level, so that it has a name); logs its calls."""
    if path := os.environ.get(LOG):
        with open(path, "a") as f:
            f.write(f"{config['x']}\n")
    return {"y": config["x"] * 10 + seed}


def test_jobs_run_resume_and_record_their_config(tmp_path, monkeypatch):
    """Cells that are not problems: fn(config, seed=...), keyed by config, seed and function."""
    jobs = [Job({"x": x, "tag": "a"}, seed) for x in (1, 2) for seed in (0, 5)]
    log = tmp_path / "calls.log"
    monkeypatch.setenv(LOG, str(log))
    assert run(jobs[:2], tmp_path / "s", fn=job_fn, progress=False) == [{"y": 10}, {"y": 15}]
    out = run(jobs, tmp_path / "s", fn=job_fn, progress=False, records=True)
    assert [r["result"]["y"] for r in out] == [10, 15, 20, 25]
    assert log.read_text().split() == ["1", "1", "2", "2"]  # the first two were not recomputed
    assert (out[3]["config"], out[3]["seed"], out[3]["fn"]) == ({"x": 2, "tag": "a"}, 5, f"{__name__}:job_fn")
    assert "problem" not in out[3] and "seconds" in out[3] and "device" in out[3]["environment"]
    keys = {cell_key(j, job_fn) for j in jobs}
    assert len(keys) == 4 and cell_key(Job({"x": 1, "tag": "b"}, 0), job_fn) not in keys


def test_grid_cells_seeds_do_not_depend_on_grid_position():
    base = Problem.from_scalars(p_T=3, p_S=2, d_z=16)
    coarse = grid_cells([base.replace(eta_u=e) for e in (0.2, 0.6)], trials=5, seed=0, chunk=2)
    fine = grid_cells([base.replace(eta_u=e) for e in (0.2, 0.4, 0.6)], trials=5, seed=0, chunk=2)
    assert [c.trials for c in coarse] == [2, 3] * 2
    # refining a grid reuses every cell already done
    assert {cell_key(c) for c in coarse} <= {cell_key(c) for c in fine}
    assert len({c.seed for c in fine}) == len(fine)


def test_pool_matches_the_whole_sample():
    x = np.random.default_rng(0).standard_normal(11)
    chunks = [x[:4], x[4:5], x[5:]]
    results = [
        {
            "gain": {"mean": c.mean(), "se": c.std(ddof=1) / math.sqrt(c.size) if c.size > 1 else math.nan},
            "trials": c.size,
            "seed": i,
        }
        for i, c in enumerate(chunks)
    ]
    pooled = pool(results)
    assert pooled["trials"] == 11 and pooled["seed"] == [0, 1, 2]
    np.testing.assert_allclose(pooled["gain"]["mean"], x.mean(), rtol=1e-12)
    np.testing.assert_allclose(pooled["gain"]["se"], x.std(ddof=1) / math.sqrt(11), rtol=1e-12)


def test_pool_by_point_groups_chunks(tmp_path):
    cells = _cells(points=3, trials=5, chunk=2)
    pooled = pool_by_point(cells, run(cells, tmp_path, fn=FN, progress=False))
    assert [p["trials"] for p in pooled] == [5, 5, 5]


def test_cli_sweep_resumes(tmp_path, monkeypatch, capsys):
    from w2s.cli import main

    log = tmp_path / "calls.log"
    monkeypatch.setenv(LOG, str(log))
    argv = [
        "sweep",
        "--set",
        "d_z=16",
        "--grid",
        "eta_u=0:1:3",
        "--grid",
        "nu=0.1,0.5",
        "--trials",
        "3",
        "--chunk",
        "2",
        "--store",
        str(tmp_path / "store"),
        "--fn",
        FN,
        "--json",
    ]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert [(r["grid"]["eta_u"], r["grid"]["nu"], r["trials"]) for r in first][:2] == [(0.0, 0.1, 3), (0.0, 0.5, 3)]
    assert len(first) == 6 and len(_logged(log)) == 6  # 3 trials in chunks of 2: one cell of 3 per point
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == first and len(_logged(log)) == 6
    assert main(argv[:-1]) == 0
    assert "gain" in capsys.readouterr().out
    assert main(["sweep", "--grid", "eta_u=oops", "--fn", FN]) == 2


def test_local_dask_cluster_matches_in_process(tmp_path):
    cells = _cells(points=4, trials=2, chunk=2)
    local = run(cells, tmp_path / "local", fn=FN, progress=False)
    on_dask = run(cells, tmp_path / "dask", fn=FN, workers=2, progress=False)
    assert on_dask == local
    records = [Store(tmp_path / "dask").get(cell_key(c, FN)) for c in cells]
    assert all(r is not None and r["environment"]["jax"] for r in records)


@pytest.mark.slow
def test_local_dask_cluster_matches_in_process_simulator(tmp_path):
    base = Problem.from_scalars(p_T=3, p_S=2, mu_T2=4.0, eta_l=0.1, gamma=0.25, nu=0.25, d_z=16)
    cells = grid_cells([base.replace(eta_u=e) for e in (0.1, 0.5)], trials=2, seed=0)
    local = run(cells, tmp_path / "local", progress=False)
    on_dask = run(cells, tmp_path / "dask", workers=2, progress=False)
    for a, b in zip(local, on_dask, strict=True):
        np.testing.assert_allclose(a["gain"]["mean"], b["gain"]["mean"], rtol=1e-10)


def test_records_are_strict_json_and_read_back_non_finite_values(tmp_path):
    """JSON has no NaN/Infinity: a record holding them is written with strings and read back as floats."""
    store = Store(tmp_path)
    store.put("k", {"gain": {"mean": float("nan"), "se": float("inf")}, "x": np.float64(-np.inf), "n": 3})

    def reject(token):
        raise ValueError(f"non-standard JSON token {token}")

    raw = json.loads(store.path("k").read_text(), parse_constant=reject)
    assert raw["gain"] == {"mean": "nan", "se": "inf"} and raw["x"] == "-inf"
    got = store.get("k")
    assert np.isnan(got["gain"]["mean"]) and got["gain"]["se"] == np.inf and got["x"] == -np.inf and got["n"] == 3


def test_git_revision_is_the_clones_own_or_unknown(monkeypatch, tmp_path):
    """From the clone: its HEAD. A package folder that is not the top of a work tree (a wheel installed
    into site-packages, here inside another repository): "unknown", not that repository's HEAD."""
    from w2s import sweep

    sweep.git_revision.cache_clear()
    try:
        if (ROOT / ".git").exists():
            assert re.fullmatch(r"[0-9a-f]{40}", sweep.git_revision()["git"])
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
        identity = ["-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run(["git", *identity, "-C", str(tmp_path), "commit", "-q", "--allow-empty", "-m", "t"], check=True)
        (tmp_path / "site-packages").mkdir()
        monkeypatch.setattr(sweep, "_CODE", tmp_path / "site-packages")
        sweep.git_revision.cache_clear()
        assert sweep.git_revision() == {"git": "unknown", "git_dirty": None}
    finally:
        sweep.git_revision.cache_clear()
