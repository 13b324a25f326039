"""The phase-diagram explorer: its numeric module (w2s.explore), ``w2s explore``, and the served app
driven in headless Chromium.

The browser tests need Debian's Chromium at /usr/bin/chromium (``.ci/run`` installs it) and
are skipped with that reason where it is missing. Set ``W2S_UPDATE_DOCS=1`` to also write the
screenshot to docs/explore.png and the measured slider-update time into docs/explore.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import jax
import numpy as np
import pytest

import asymptotics
from benchmarks.browser import CHROMIUM, CHROMIUM_FLAGS, key_press_seconds, slider
from w2s import explore
from w2s.cli import main
from w2s.commands import explore as explore_command
from w2s.markers import write_between

from ._serve import wait_until_served

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------- numeric module


def test_problem_from_defaults_round_trip():
    problem, notes = explore.problem_from(explore.Controls())
    assert notes == ()
    s = problem.summary()
    d = explore.Controls()
    assert (s["p_T"], s["p_S"]) == (d.p_T, d.p_S)
    assert s["similarity"] == pytest.approx(d.similarity, abs=1e-12)
    assert s["mu_T2"] == pytest.approx(d.mu_T2, rel=1e-12)
    assert s["mu_S2"] == pytest.approx(d.mu_S2, abs=1e-12)


@pytest.mark.parametrize(
    ("changes", "expect", "note"),
    [
        (dict(p_T=2, p_S=4), dict(p_S=2), "p_S"),
        (dict(p_S=2, similarity=3.0), dict(similarity=1.0), "||Xi||_F^2"),
        (dict(p_T=1, p_S=1, mu_T2=5.0, similarity=0.0), dict(mu_T2=0.0), "teacher sees no group feature"),
        (dict(p_S=1, mu_S2=5.0, similarity=0.0), dict(mu_S2=0.0), "student sees no group feature"),
        (dict(p_S=2, similarity=1.0, mu_T2=4.0, mu_S2=9.0), dict(mu_S2=4.0), "full similarity"),
    ],
)
def test_problem_from_adjusts_inadmissible_sliders_and_says_so(changes, expect, note):
    problem, notes = explore.problem_from(dataclasses.replace(explore.Controls(), **changes))
    s = problem.summary()
    for key, value in expect.items():
        assert s[key] == pytest.approx(value, abs=1e-9), key
    assert any(note in n for n in notes), notes


@pytest.fixture(scope="module")
def rich_problem():
    """Every structural feature on: Xi != 0, mu_S != 0, both shifts, finite nu, ridges."""
    controls = explore.Controls(
        eta_l=0.2, eta_u=0.55, eta_t=0.7, similarity=0.6, mu_T2=9.0, mu_S2=3.0, nu=0.2, ridge_teacher=0.1
    )
    return explore.problem_from(controls)[0]


# The default tests compare against the "paper" method only (compare=()): a costlier registered
# method (the exact theory) compiles for tens of seconds per shape; the slow test covers it.
FAST = dict(compare=())


@pytest.mark.parametrize("group_model", ["mixture", "mean-shift"])
def test_evaluate_matches_the_theory_pointwise(rich_problem, group_model):
    problem = rich_problem.replace(group_model=group_model)
    result = explore.evaluate(problem, "paper", **FAST)
    assert list(result.along.point) == [explore.PRINTED, "paper"]
    direct = asymptotics.risks(problem, "paper")
    for key in ("teacher_risk", "student_risk", "gain"):
        assert result.along.point["paper"][key] == pytest.approx(float(direct[key]), rel=1e-10, abs=1e-12)
    printed_gain = asymptotics.printed_teacher_risk(problem) - asymptotics.printed_student_risk(problem)
    assert result.along.point[explore.PRINTED]["gain"] == pytest.approx(float(printed_gain), rel=1e-10)
    # The phase diagram: gain[i, j] at (eta_l, eta_u) = (axis[j], axis[i]).
    n = explore.GRID
    assert result.phase.gain.shape == (n, n)
    for i, j in [(0, 0), (3, n // 2), (n - 1, 7), (n // 2, n - 1)]:
        q = problem.replace(eta_l=float(result.phase.axis[j]), eta_u=float(result.phase.axis[i]))
        assert result.phase.gain[i, j] == pytest.approx(
            float(asymptotics.risks(q, "paper")["gain"]), rel=1e-10, abs=1e-12
        )
    # The curves are at the current eta_l.
    k = 37
    q = problem.replace(eta_u=float(result.along.eta_u[k]))
    for form, fn in (
        ("paper", lambda q: asymptotics.risks(q, "paper")["student_risk"]),
        (explore.PRINTED, asymptotics.printed_student_risk),
    ):
        assert result.along.curves[form]["student_risk"][k] == pytest.approx(float(fn(q)), rel=1e-10)


def test_eta_u_star_matches_the_closed_form_under_mean_shift(rich_problem):
    """Under mean-shift the paper method *is* the printed forms, whose maximiser is eta_u_star_printed:
    an independent check of the numeric argmax (grid step 0.01, refined by a parabola, exact for
    the quadratic printed gain)."""
    problem = rich_problem.replace(group_model="mean-shift", eta_l=0.5, eta_t=0.2)
    result = explore.evaluate(problem, "paper", **FAST)
    closed = float(asymptotics.eta_u_star_printed(problem))
    assert 0.0 < closed < 1.0
    assert result.along.eta_u_star == pytest.approx(closed, abs=1e-9)
    assert result.along.eta_u_star_printed == pytest.approx(closed, rel=1e-12)
    # The ridge of the phase diagram at this eta_l (0.5, a grid point) is the same maximiser.
    j = int(np.argmin(np.abs(result.phase.axis - problem.eta_l)))
    assert result.phase.axis[j] == pytest.approx(problem.eta_l, abs=1e-12)
    assert result.phase.ridge[j] == pytest.approx(closed, abs=1e-9)


def _random_controls(rng) -> explore.Controls:
    return explore.Controls(
        eta_l=float(rng.uniform()),
        eta_u=float(rng.uniform()),
        eta_t=float(rng.uniform()),
        gamma=float(rng.uniform(0.01, 1.0)),
        nu=float(rng.uniform(0.0, 2.0)),
        similarity=float(rng.uniform(0.0, 0.99)),
        mu_T2=float(rng.uniform(0.0, 40.0)),
        mu_S2=float(rng.uniform(0.0, 40.0)),
        ridge_teacher=float(rng.uniform(0.0, 2.0)),
        ridge_student=float(rng.uniform(0.0, 2.0)),
    )


def _check_no_recompilation(method: str, compare: tuple[str, ...] | None, moves: int) -> list[float]:
    """Moves of every continuous slider reuse the compiled programs; a new (p_T, p_S) compiles (or
    loads) its own, and returning to a seen shape compiles nothing. Returns the seconds per move."""
    base, _ = explore.problem_from(explore.Controls())
    explore.evaluate(base, method, compare=compare)
    before = explore.compilations()
    rng = np.random.default_rng(0)  # pinned: the values only need to differ from move to move
    seconds = []
    for _ in range(moves):
        problem, _ = explore.problem_from(_random_controls(rng))
        t0 = time.perf_counter()
        explore.evaluate(problem, method, compare=compare)
        seconds.append(time.perf_counter() - t0)
    assert explore.compilations() == before
    other_shape, _ = explore.problem_from(explore.Controls(p_T=4, p_S=3))
    explore.evaluate(other_shape, method, compare=compare)
    after_new_shape = explore.compilations()
    assert after_new_shape > before
    explore.evaluate(other_shape.replace(eta_u=0.9, gamma=0.3), method, compare=compare)
    explore.evaluate(base.replace(eta_t=0.1), method, compare=compare)
    assert explore.compilations() == after_new_shape
    return seconds


def test_slider_moves_never_recompile():
    seconds = _check_no_recompilation("paper", (), moves=12)
    print(f"\nexplore.evaluate (paper) per move: median {1e3 * statistics.median(seconds):.1f} ms")


@pytest.mark.slow
def test_exact_method_never_recompiles_and_matches_its_risks():
    """The app's default configuration: the exact method shown, every other form compared."""
    seconds = _check_no_recompilation("exact", None, moves=6)
    print(f"\nexplore.evaluate (exact + all forms) per move: median {1e3 * statistics.median(seconds):.0f} ms")
    problem, _ = explore.problem_from(explore.Controls(nu=0.3, ridge_student=0.2, similarity=0.5, mu_S2=1.0))
    result = explore.evaluate(problem, "exact")
    direct = jax.jit(lambda q: asymptotics.risks(q, "exact"))(problem)
    for key in ("teacher_risk", "student_risk", "gain"):
        # the vmapped fixed point iterates until every point converges: agreement to its tolerance
        assert result.along.point["exact"][key] == pytest.approx(float(direct[key]), rel=1e-7)


def test_a_method_that_raises_costs_only_its_own_form(rich_problem, monkeypatch):
    """A method that raises: the page shows NaN for it and a note, and every other form as usual."""
    import equinox as eqx

    def student(problem):
        risk = asymptotics.student_risk_paper(problem)
        return eqx.error_if(risk, problem.eta_u > 0.5, "broken: no convergence")

    broken = asymptotics.Method(asymptotics.teacher_risk_paper, student, "raises for eta_u > 0.5")
    monkeypatch.setitem(asymptotics.METHODS, "broken", broken)
    problem = rich_problem.replace(eta_u=0.3)
    a = explore.along(problem, "paper", compare=("broken",))
    assert np.all(np.isnan(a.curves["broken"]["gain"])) and np.isnan(a.point["broken"]["gain"])
    assert np.all(np.isfinite(a.curves["paper"]["gain"])) and np.all(np.isfinite(a.curves[explore.PRINTED]["gain"]))
    assert any("broken: no convergence" in e for e in a.errors)
    ph = explore.phase_diagram(problem, "broken")
    assert np.all(np.isnan(ph.gain)) and any("broken: no convergence" in e for e in ph.errors)
    text = explore.summary_html(explore.Result(ph, a), problem)
    assert "broken: no convergence" in text


def test_points_that_do_not_converge_are_nan_and_noted(rich_problem, monkeypatch, tmp_path):
    """The exact theory reports convergence per point: only those points are lost, with a note."""
    from asymptotics import _compiled

    def risks(problem, method):
        out, _ = _compiled._risks(problem, "paper")
        return out, problem.eta_u <= 0.5  # "converged" only for eta_u <= 0.5

    monkeypatch.setenv("W2S_CACHE", str(tmp_path))  # the patched program must not meet the real one
    monkeypatch.setitem(_compiled.QUANTITIES, "risks", risks)
    _compiled.compiled.cache_clear()
    try:
        ph = explore.phase_diagram(rich_problem, "paper")
        with pytest.raises(
            asymptotics.ConvergenceError, match=r"did not converge at 1 of 1 points \(first: .*eta_u=0\.9"
        ):
            asymptotics.evaluate(rich_problem.replace(eta_u=0.9), "risks", "paper")
    finally:
        _compiled.compiled.cache_clear()
    lost = ph.axis > 0.5
    assert np.all(np.isnan(ph.gain[lost])) and np.all(np.isfinite(ph.gain[~lost]))
    assert any("did not converge at" in e for e in ph.errors)


def test_unknown_method_is_refused(rich_problem):
    with pytest.raises(ValueError, match="method: must be one of"):
        explore.evaluate(rich_problem, "no-such-method")
    with pytest.raises(ValueError, match="method: must be one of"):
        explore.evaluate(rich_problem, "paper", compare=("no-such-method",))


def test_plots_are_well_formed_svg_with_the_boundary():
    # Xi = 0, eta_t = eta_l and strong separation: W2S fails away from eta_u = eta_l (claim (d), docs/theory.md).
    controls = explore.Controls(eta_l=0.3, eta_u=0.8, eta_t=0.3, mu_T2=30.0, group_model="mean-shift")
    problem, _ = explore.problem_from(controls)
    result = explore.evaluate(problem, "paper", **FAST)
    assert np.nanmin(result.phase.gain) < 0 < np.nanmax(result.phase.gain)
    page = explore.plots_html(result, problem)
    root = ET.fromstring(page)  # well-formed XML, so the browser parses it as intended
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    assert {"w2s-plot", "w2s-phase", "w2s-gain-curve", "w2s-risks"} <= ids
    assert 'stroke="#000000"' in page  # the gain = 0 contour
    text = explore.summary_html(result, problem, ("a note",), render_seconds=0.01)
    ET.fromstring(f"<div>{text}</div>")
    assert re.search(r'id="w2s-gain">[+-]\d\.\d{5}<', text)
    assert "W2S fails" in text and "note: a note" in text


def test_plots_handle_nan_regions():
    problem, _ = explore.problem_from(explore.Controls())
    result = explore.evaluate(problem, "paper", **FAST)
    gain = result.phase.gain.copy()
    gain[:10] = np.nan
    curves = {
        f: {k: np.where(np.arange(explore.CURVE) < 20, np.nan, v) for k, v in d.items()}
        for f, d in result.along.curves.items()
    }
    broken = explore.Result(
        dataclasses.replace(result.phase, gain=gain), dataclasses.replace(result.along, curves=curves)
    )
    ET.fromstring(explore.plots_html(broken, problem))


# ---------------------------------------------------------------------------- the command


def test_explore_command_line():
    cmd = explore_command.command("127.0.0.1", 4321)
    assert cmd[:4] == [sys.executable, "-m", "marimo", "run"]
    assert Path(cmd[4]) == Path(explore.__file__).parent / "app.py" and Path(cmd[4]).is_file()
    assert {"--headless", "--no-token", "--no-sandbox"} <= set(cmd)
    assert cmd[cmd.index("--port") + 1] == "4321" and cmd[cmd.index("--host") + 1] == "127.0.0.1"


def test_explore_passes_methods_to_the_app_and_checks_them(capsys):
    assert explore_command.command("127.0.0.1", 4321, "paper")[-3:] == ["--", "--methods", "paper"]
    assert main(["explore", "--methods", "paper,no-such-method"]) == 2
    assert "--methods: 'no-such-method' is not one of" in capsys.readouterr().err


def _serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
def test_stopping_the_command_stops_the_server(stop):
    """SIGTERM to `w2s explore` (not to its process group) stops marimo too; so does SIGKILL, which
    the command cannot catch (the server asked Linux to be signalled when its parent dies)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "w2s.cli", "explore", "--port", str(port), "--methods", "paper"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not _serving(url):
            assert proc.poll() is None and time.monotonic() < deadline, "w2s explore did not serve"
            time.sleep(0.5)
        proc.send_signal(stop)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _serving(url) or not explore_command.port_is_free("127.0.0.1", port):
            assert time.monotonic() < deadline, "the marimo server outlived w2s explore"
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_explore_refuses_a_busy_port(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["explore", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("w2s explore: error: --port:") and "in use" in err


def test_marimo_app_is_a_valid_notebook():
    """The app file parses as a marimo notebook with no multiply-defined names or cycles."""
    out = subprocess.run(
        [sys.executable, "-m", "marimo", "check", str(explore_command.app_path())],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MARIMO_SKIP_UPDATE_CHECK": "1"},
    )
    assert out.returncode == 0, out.stdout + out.stderr


# --------------------------------------------------------------------------- in a browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serve(log: Path, *extra: str):
    """``w2s explore`` on a free localhost port; yields its URL, then stops it (and marimo)."""
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium chromium-driver)"
        )
    port = _free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "w2s.cli", "explore", "--port", str(port), *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so marimo stops with it
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_served(url, proc, log, timeout=180)
        assert url in log.read_text().splitlines()[0]  # the command printed the URL
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def _browse(url: str, timeout_s: float):
    """A fresh headless Chromium page showing the app, after its first render."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # Playwright gives each launch a fresh, empty profile (its own --user-data-dir).
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            pg = browser.new_page(viewport={"width": 1440, "height": 980})
            t0 = time.perf_counter()
            pg.goto(url)
            pg.wait_for_selector("#w2s-gain", timeout=1e3 * timeout_s)  # the first session compiles
            print(f"\nfirst render after {time.perf_counter() - t0:.1f} s")
            yield pg
        finally:
            browser.close()


@pytest.fixture
def page(tmp_path_factory):
    """The app with the paper method only: the default tests' browser session (a fast start; the
    slow test serves every registered method). Function-scoped: a second Playwright session cannot
    start while this one runs."""
    log = tmp_path_factory.mktemp("explore") / "server.log"
    with _serve(log, "--methods", "paper") as url, _browse(url, timeout_s=180) as pg:
        yield pg


def test_slider_move_updates_gain_and_plot_in_the_browser(page, tmp_path):
    _drive(page, tmp_path, "paper", docs=os.environ.get("W2S_UPDATE_DOCS") == "1")


@pytest.mark.slow
def test_default_app_in_the_browser(tmp_path):
    """The app as `w2s explore` serves it: every registered method, "exact" shown if present."""
    with _serve(tmp_path / "server.log") as url, _browse(url, timeout_s=600) as pg:
        _drive(pg, tmp_path, explore.default_method(), docs=os.environ.get("W2S_UPDATE_DOCS") == "1")
        pg.get_by_role("button", name="quick simulation").click()
        pg.wait_for_selector("#w2s-sim", timeout=300_000)
        assert re.fullmatch(r"[+-]\d\.\d{4} ± \d\.\d{4}", pg.locator("#w2s-sim").inner_text())
        pg.screenshot(path=str(tmp_path / "explore_simulation.png"), full_page=True)
        if os.environ.get("W2S_UPDATE_DOCS") == "1":  # the README's picture: the default app
            pg.screenshot(path=str(ROOT / "docs" / "explore.png"), full_page=True)


def _drive(pg, tmp_path: Path, method: str, *, docs: bool) -> None:
    """Move the eta_u slider; the gain text and the drawn plot must change, to the theory's value."""
    gain0 = pg.locator("#w2s-gain").inner_text()
    svg0 = pg.locator("#w2s-plot").inner_html()
    png0 = pg.locator("#w2s-plot").screenshot()
    pg.screenshot(path=str(tmp_path / "explore_before.png"), full_page=True)

    thumb = slider(pg, "pseudolabeled minority")
    value0 = float(thumb.get_attribute("aria-valuenow"))
    seconds, gain1 = key_press_seconds(pg, thumb, "ArrowRight")
    assert float(thumb.get_attribute("aria-valuenow")) == pytest.approx(value0 + 0.01)
    assert gain1 != gain0
    assert float(gain1) == pytest.approx(_expected_gain(method, eta_u=value0 + 0.01), abs=2e-5)
    pg.wait_for_function(f"() => document.getElementById('w2s-plot').innerHTML !== {json.dumps(svg0)}")
    assert pg.locator("#w2s-plot").screenshot() != png0  # the drawn pixels changed, not only the markup

    # More moves, in both directions, for a stable timing figure.
    times = [seconds]
    for key in ("ArrowLeft", "ArrowRight", "ArrowLeft", "ArrowRight", "ArrowLeft", "ArrowRight"):
        times.append(key_press_seconds(pg, thumb, key)[0])
    # A slider that moves the phase diagram too (everything but eta_l, eta_u recomputes it).
    phase0 = pg.locator("#w2s-phase").inner_html()
    other, gain2 = key_press_seconds(pg, slider(pg, "test minority"), "ArrowRight")
    assert gain2 != gain1
    pg.wait_for_function(f"() => document.getElementById('w2s-phase').innerHTML !== {json.dumps(phase0)}")
    median = statistics.median(times)
    print(
        f"\nslider update ({method}), key press to new gain in the DOM: eta_u median {1e3 * median:.0f} ms "
        f"(max {1e3 * max(times):.0f} ms, {len(times)} moves); eta_t (with the phase diagram) {1e3 * other:.0f} ms"
    )
    pg.screenshot(path=str(tmp_path / "explore.png"), full_page=True)
    print(f"screenshots: {tmp_path}")
    if docs:
        _update_docs(pg, method, median, max(times), len(times), other)
    # Generous: a recompilation per move costs seconds; a warm update here takes well under one.
    assert median < 5.0, times


def _expected_gain(method: str, **changes) -> float:
    """The gain the app should show: the default controls with ``changes``, by ``method``."""
    problem, _ = explore.problem_from(dataclasses.replace(explore.Controls(), **changes))
    return float(jax.jit(lambda q: asymptotics.risks(q, method)["gain"])(problem))


def _update_docs(pg, method: str, median: float, worst: float, moves: int, other: float) -> None:
    """Write the measured times between the ``timing-METHOD`` markers of docs/explore.md."""
    line = (
        ("With every method, exact shown (the default)" if method == "exact" else f"With `--methods {method}`")
        + f": a slider update takes **{1e3 * median:.0f} ms** from the key press to the new gain in the page "
        f"(eta_u slider, median of {moves} moves, slowest {1e3 * worst:.0f} ms); an eta_t move, which recomputes "
        f"the phase diagram too, took {1e3 * other:.0f} ms."
    )
    write_between(ROOT / "docs" / "explore.md", f"timing-{method}", line)
