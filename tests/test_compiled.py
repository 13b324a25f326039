"""The compiled theory programs (asymptotics.evaluate): the same answers as the direct functions
and as the code before them, programs kept on disk, and every valid problem answering.

``data/exact_reference.json`` holds the answers of the theory as it was before the compiled
programs (commit e686894, evaluated one problem at a time with ``jax.jit(asymptotics.risks)``,
``eta_u_star_exact`` and ``phase_point_exact``) on random problems of five shapes, both group
models, ridge and ridgeless, nu = 0 and > 0, under- and over-parameterised, plus the validation
grid of docs/theory.md. NaN (a phase boundary with no root on one side) is stored as null. One
problem (``"error"``) made that code hang; the reference says so.
"""

from __future__ import annotations

import collections
import concurrent.futures
import json
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import asymptotics
from w2s import Problem

from ._direct import risks as direct_risks  # jit(asymptotics.risks), shared with test_claims

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = json.loads((Path(__file__).parent / "data" / "exact_reference.json").read_text())
QUANTITIES = {"risks": "", "point": "", "boundary": "phase_"}
POSITIONS = ("eta_u_star", "phase_eta_u_star", "phase_lower", "phase_upper")  # in [0, 1]: absolute error
# The shape the other default tests compile too; the slow test checks every shape.
DEFAULT_SHAPE = (3, 2)

# The problem of the hang report, and a problem on which the code before the compiled programs
# hung (idle, no CPU) in eta_u_star_exact.
HANG_REPORT = dict(
    p_T=4, p_S=3, similarity=1.0, mu_T2=4.0, mu_S2=1.0, eta_l=0.2, eta_u=0.7, eta_t=0.9, gamma=0.08, nu=0.15,
    d_z=64, ridge_teacher=0.1, ridge_student=0.05, group_model="mixture",
)  # fmt: skip


def _groups(shapes=None):
    out = collections.defaultdict(list)
    for r in REFERENCE:
        p = Problem.from_dict(r["problem"])
        if shapes is None or (p.p_T, p.p_S) in shapes:
            out[(p.group_model, p.p_T, p.p_S, p.p)].append((r, p))
    return out


def _evaluate_group(items, quantities) -> dict:
    with jax.numpy_dtype_promotion("strict"), jax.numpy_rank_promotion("raise"):  # as conftest, in this thread
        new = {}
        for q, prefix in quantities.items():
            new.update({prefix + k: v for k, v in asymptotics.evaluate([p for _, p in items], q, "exact").items()})
        return new


def _check_reference(shapes=None, quantities=QUANTITIES) -> int:
    groups = list(_groups(shapes).values())
    # Each group (group model, shape) has programs of its own to compile; XLA compiles without
    # holding the GIL, so two groups compile side by side on two cores.
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda items: _evaluate_group(items, quantities), groups))
    checked = 0
    for items, new in zip(groups, answers, strict=True):
        for i, (ref, p) in enumerate(items):
            if "error" in ref:
                assert np.isfinite(new["gain"][i]), p  # a problem of the hang report: it must answer
                continue
            for key, want in ref.items():
                if key in ("problem", "seconds") or key not in new:
                    continue
                got = float(new[key][i])
                if want is None:  # NaN (no root on that side), stored as null
                    assert np.isnan(got), (key, p)
                elif key in POSITIONS:
                    assert got == pytest.approx(want, abs=1e-10), (key, p)
                else:
                    assert got == pytest.approx(want, rel=1e-10, abs=1e-14), (key, p)
                checked += 1
    return checked


def _comparable(shapes=None, quantities=QUANTITIES) -> int:
    """How many reference values ``_check_reference(shapes, quantities)`` must compare."""
    phase = {"phase_" + k for k in ("eta_u_star", "max_gain", "lower", "upper")}
    skip = {"problem", "error"} | (set() if "boundary" in quantities else phase)
    return sum(
        len([k for k in r if k not in skip]) for items in _groups(shapes).values() for r, _ in items if "error" not in r
    )


# The default suite checks the risks and eta_u* on the shape the other tests compile too; the
# slow test checks the phase boundary as well, on every shape.
DEFAULT_QUANTITIES = {"risks": "", "point": ""}


def test_answers_unchanged_from_the_reference():
    checked = _check_reference({DEFAULT_SHAPE}, DEFAULT_QUANTITIES)
    assert checked == _comparable({DEFAULT_SHAPE}, DEFAULT_QUANTITIES) > 100


@pytest.mark.slow
def test_answers_unchanged_from_the_reference_every_shape():
    assert _check_reference() == _comparable() > 600


@pytest.mark.parametrize("group_model", ["mixture", "mean-shift"])
def test_staged_risks_equal_the_direct_functions(group_model):
    """evaluate solves each distinct fixed point once (a stage sees NaN in the fields it must not
    read): on problems where every field varies, and on a grid that repeats eta_l and eta_u, it
    equals the unstaged jit(asymptotics.risks) point by point."""
    rng = np.random.default_rng(7)  # pinned: any values will do, they only need to vary
    problems = [
        Problem.from_scalars(
            p_T=3,
            p_S=2,
            similarity=float(rng.uniform(0, 1)),
            mu_T2=float(rng.uniform(0, 9)),
            mu_S2=float(rng.uniform(0, 2)),
            sigma_xi2=float(rng.uniform(0.5, 2)),
            eta_l=float(rng.uniform()),
            eta_u=float(rng.uniform()),
            eta_t=float(rng.uniform()),
            gamma=float(rng.uniform(0.01, 0.3)),
            nu=float(rng.choice([0.0, rng.uniform(0.01, 0.4)])),
            ridge_teacher=float(rng.choice([0.0, 0.2])),
            ridge_student=float(rng.choice([0.0, 0.3])),
            signal=float(rng.uniform(0.5, 2)),
            sigma_y2=float(rng.uniform(0.5, 2)),
            group_model=group_model,
        )  # fmt: skip
        for _ in range(6)
    ]
    problems += [problems[0].replace(eta_u=e) for e in (0.1, 0.9)] + [problems[1].replace(eta_l=0.3)]
    got = asymptotics.evaluate(problems)
    for i, p in enumerate(problems):
        want = direct_risks(p, "exact")
        for k in ("teacher_risk", "student_risk", "gain"):
            assert got[k][i] == pytest.approx(float(want[k]), rel=1e-12), (k, i)
    eta = np.linspace(0.0, 1.0, 5)
    grid = asymptotics.evaluate_grid(problems[2], eta_l=eta[:, None], eta_u=eta[None, :])
    for i, j in [(0, 0), (1, 3), (4, 2)]:
        want = direct_risks(problems[2].replace(eta_l=float(eta[i]), eta_u=float(eta[j])), "exact")
        assert grid["gain"][i, j] == pytest.approx(float(want["gain"]), rel=1e-12)


def test_batch_sizes():
    """Few sizes, so few compilations: fixed-point programs pad to 16, closed forms to 16 or 256."""
    assert [asymptotics.batch_size(n) for n in (1, 16, 17, 10_000)] == [16, 16, 16, 16]
    assert [asymptotics.batch_size(n, (16, 256)) for n in (1, 16, 17, 256, 10_000)] == [16, 16, 256, 256, 256]


def test_bad_arguments_are_named():
    p = Problem()
    with pytest.raises(ValueError, match="quantity: must be one of"):
        asymptotics.evaluate(p, "nope")
    with pytest.raises(ValueError, match="method: must be one of"):
        asymptotics.evaluate(p, "risks", "nope")
    with pytest.raises(ValueError, match="problems: all must share"):
        asymptotics.evaluate([p, Problem.from_scalars(p_T=3, p_S=2)])
    with pytest.raises(ValueError, match="eta_u: must lie in"):
        asymptotics.evaluate_grid(p, eta_u=[0.5, 1.5])


def _theory_cli(args: list[str], timeout: float) -> dict:
    """``w2s theory ... --json`` in a fresh process, with the suite's compiled-program cache."""
    out = subprocess.run(
        [sys.executable, "-m", "w2s.cli", "theory", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=timeout,  # a hang fails the test instead of stalling the suite
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _saved() -> dict[str, int]:
    folder = asymptotics.cache_dir()
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} if folder.exists() else {}


def test_second_run_of_the_cli_loads_the_compiled_program():
    args = ["--config", str(ROOT / "examples" / "mixture.toml")]
    first = _theory_cli(args, timeout=600)
    saved = _saved()
    assert any(name.startswith("point-exact-mixture-") for name in saved), saved
    second = _theory_cli(args, timeout=600)
    assert second == first
    # loaded, not compiled again: a compilation would have replaced its file
    assert {k: v for k, v in _saved().items() if k in saved} == saved


def _as_overrides(problem: Problem) -> list[str]:
    out = []
    for key, value in problem.to_dict().items():
        out += ["--set", f"{key}={json.dumps(value)}"]
    return out


def _watchdog_problems(full: bool) -> list[Problem]:
    problems = [Problem.from_scalars(**HANG_REPORT)]
    if not full:
        return problems
    problems.append(next(Problem.from_dict(r["problem"]) for r in REFERENCE if "error" in r))
    for p_T in range(1, 7):
        for p_S in range(1, p_T + 1):
            for model in ("mixture", "mean-shift"):
                for gamma, nu, ridge in ((0.3 / p_T, 0.0, 0.0), (1.5 / p_T, 1.4 / p_S, 0.0), (0.1, 0.2, 0.1)):
                    problems.append(
                        Problem.from_scalars(
                            p_T=p_T,
                            p_S=p_S,
                            similarity=0.5 * (p_S - 1),
                            mu_T2=4.0 if p_T > 1 else 0.0,
                            mu_S2=1.0 if p_S > 1 else 0.0,
                            eta_l=0.2,
                            eta_u=0.7,
                            eta_t=0.5,
                            gamma=gamma,
                            nu=nu,
                            ridge_teacher=ridge,
                            ridge_student=ridge,
                            group_model=model,
                        )  # fmt: skip
                    )
    return problems


def test_the_hang_report_answers():
    """w2s theory under a watchdog on the problem of the hang report (the slow test adds every
    shape, and the problem that hung while the reference was made)."""
    for problem in _watchdog_problems(full=False):
        out = _theory_cli(_as_overrides(problem), timeout=600)
        assert np.isfinite(out["gain"]) and 0.0 <= out["eta_u_star"] <= 1.0


@pytest.mark.slow
def test_every_shape_answers():
    """Every (p_T, p_S) up to 6, both group models, nu = 0 and > 0, ridge and ridgeless, under- and
    over-parameterised: the CLI and the explorer's evaluation answer under a watchdog."""
    for problem in _watchdog_problems(full=True):
        out = _theory_cli(_as_overrides(problem), timeout=900)
        assert np.isfinite(out["gain"]), problem
    script = (
        "import sys, json; from w2s import explore, Problem; "
        "r = explore.evaluate(Problem.from_dict(json.loads(sys.argv[1])), 'exact'); "
        "assert not r.phase.errors and not r.along.errors, (r.phase.errors, r.along.errors)"
    )
    for p_T, p_S in ((2, 1), (4, 3), (6, 3)):
        problem = Problem.from_scalars(p_T=p_T, p_S=p_S, similarity=0.5 * (p_S - 1), mu_T2=4.0, nu=0.1)
        subprocess.run(
            [sys.executable, "-c", script, json.dumps(problem.to_dict())],
            check=True,
            timeout=900,
        )


def test_a_program_that_does_not_load_is_compiled_afresh(tmp_path, monkeypatch):
    """An executable file that fails on its first run after loading (XLA:CPU wrote it, another
    process cannot run it) is compiled afresh, and marked so that it is neither loaded nor saved
    again; an unreadable file is compiled afresh and overwritten."""
    from asymptotics import _compiled

    path = tmp_path / "p.jaxexe"
    path.write_bytes(b"not an executable")
    builds = []

    def build():
        builds.append(1)
        return lambda leaves, extras: {"x": leaves[0] + 1.0}

    program = _compiled._Program(build, path)
    assert float(program([np.ones(2)], ())["x"][0]) == 2.0 and len(builds) == 1
    assert not program.unloadable.exists()

    def broken(leaves, extras):
        raise jax.errors.JaxRuntimeError("NOT_FOUND: Function compare_convert_fusion not found")

    program = _compiled._Program(build, path)
    monkeypatch.setattr(program, "_load", lambda: (setattr(program, "loaded", True), broken)[1])
    assert float(program([np.ones(2)], ())["x"][0]) == 2.0 and len(builds) == 2
    assert program.unloadable.exists() and not path.exists()
    again = _compiled._Program(build, path)
    assert float(again([np.zeros(2)], ())["x"][0]) == 1.0 and not path.exists()  # compiled, not saved
