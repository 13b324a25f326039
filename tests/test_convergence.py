"""Every admissible problem answers: the exact theory's fixed points converge across the domain.

A min-norm fit past its interpolation threshold solves the resolvent equation at s = 0, where
Newton's method from the isotropic guess can be drawn to the spurious root B = 0 of
B - T(B) on the boundary of the cone, and the monotone restart used to exist only for s > 0;
it now starts from the super-solution I/c (docs/theory.md, "E.9 Convergence across the
domain"). The two problems of the issue that first showed it, a random scan of the domain
(``tests/_scan.py``), and spot checks of the newly reachable region against the simulator.
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import asymptotics
from asymptotics import _fixed_point
from w2s import Problem, validation
from w2s.cli import main

from ._scan import MODELS, SHAPES, scan

# The two reproducers of the issue: a min-norm teacher just past its threshold (gamma p_T = 1.09
# and 1.29), under the mixture.
REPRODUCERS = [
    dict(
        group_model="mixture", sigma_y2=1.6951532121415853, signal=1.8550340233496967,
        sigma_xi2=0.8973781351591601, mu_xi=[3.6505840166857206, 1.3418082906106963],
        T=[[-0.8216799469346634], [-0.5699491773881677]], S=[[-0.7268732219873064], [0.6867716644983195]],
        eta_l=0.41977093236994134, eta_u=0.03333923511124659, eta_t=0.844320116411493,
        gamma=0.5446580281669975, nu=0.389049842404227, ridge_teacher=0.0,
        ridge_student=0.013943846980696636, d_z=256,
    ),
    dict(
        group_model="mixture", sigma_y2=1.5211157342782944, signal=1.2917916137807006,
        sigma_xi2=0.5559677468212554, mu_xi=[4.451691667842318, 3.7408374200090613, 0.8001121782208535],
        T=[[-0.8255309777764412, -0.5631206068423903], [0.22465975890569118, -0.2672236509819769],
           [0.5177128523225109, -0.7819761521333759]],
        S=[[-0.6389427952389706], [-0.7491667568508786], [-0.17464614178889698]],
        eta_l=0.21015708132119193, eta_u=0.42690883670494983, eta_t=0.11500435638409201,
        gamma=0.4316439500621824, nu=0.0, ridge_teacher=0.0, ridge_student=0.031674963370261544, d_z=256,
    ),
]  # fmt: skip


@pytest.mark.parametrize("index", [0, 1])
def test_reproducers_answer(index, tmp_path, capsys):
    problem = Problem.from_dict(REPRODUCERS[index])
    out = asymptotics.evaluate(problem, "point")  # raises ConvergenceError where it does not converge
    assert np.isfinite(out["teacher_risk"]) and np.isfinite(out["gain"]) and 0 <= out["eta_u_star"] <= 1
    path = tmp_path / "problem.toml"
    path.write_text(problem.to_toml())
    capsys.readouterr()
    assert main(["theory", "--config", str(path), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["gain"] == pytest.approx(float(out["gain"]), rel=1e-12)


def test_min_norm_restart_finds_the_trace_identity():
    """At s = 0 the fixed point obeys tr B = p - 1/gamma exactly (docs/theory.md, E.4); the first
    reproducer's teacher needs the restart from I/c (Newton from the guess fails) and lands on it."""
    from asymptotics import _exact

    problem = Problem.from_dict(REPRODUCERS[0])
    p = problem.p_T

    @jax.jit
    def solve(problem):
        law = _exact._law(problem, problem.eta_l, jnp.asarray(problem.T))
        gamma, s, c, Av = jnp.asarray(problem.gamma), jnp.asarray(0.0), jnp.asarray(1.0), jnp.eye(p)
        guess = _fixed_point._scalar_guess(Av @ law.moment() @ Av.T, gamma, s, c)
        _, err = _fixed_point._newton_from(law, Av, gamma, s, c, guess, True)
        res = _fixed_point.solve_resolvent(law, Av, gamma, s, c)
        return err, res.converged, jnp.trace(res.B)

    err, converged, trace = solve(problem)
    assert not err <= _fixed_point.TOL  # the failure the restart repairs
    assert bool(converged)
    assert float(trace) == pytest.approx(p - 1 / problem.gamma, rel=1e-12)


def test_restart_from_above_equals_newton(monkeypatch):
    """Force the fallback at s = 0 where Newton alone converges (gamma p_T = 2, min-norm): the
    decreasing monotone iteration from I/c finds the same fixed point."""
    from asymptotics import _exact

    problem = Problem.from_dict(REPRODUCERS[0])
    law = _exact._law(problem, problem.eta_l, jnp.asarray(problem.T))
    gamma = 2.0 / problem.p_T

    def solve():  # a fresh function each time, so the patched guess is traced, not a cached trace reused
        return jax.jit(lambda law: _fixed_point.solve_resolvent(law, jnp.eye(2), gamma, 0.0, 1.0))(law)

    direct = solve()
    # A start with no positive-definite Newton step: the first run stops at once, the restart takes over.
    monkeypatch.setattr(_fixed_point, "_scalar_guess", lambda M, gamma, s, c: -jnp.eye(M.shape[0]))
    restarted = solve()
    assert bool(direct.converged) and bool(restarted.converged)
    np.testing.assert_allclose(np.asarray(restarted.B), np.asarray(direct.B), rtol=1e-11, atol=0)


def _check_scan(groups: dict, quantity: str) -> int:
    count = 0
    for (model, shape), problems in groups.items():
        out = asymptotics.evaluate(problems, quantity, on_error="nan")
        bad = np.flatnonzero(~out["converged"])
        assert bad.size == 0, (model, shape, [problems[i].to_dict() for i in bad[:3]])
        finite = np.isfinite(out["gain"]) & np.isfinite(out["teacher_risk"])
        if "at_threshold" in out:
            finite |= out["at_threshold"]
        assert finite.all(), (model, shape, [problems[i].to_dict() for i in np.flatnonzero(~finite)[:3]])
        count += len(problems)
    return count


# The default scan uses the two shapes the other default tests compile too.
DEFAULT_SHAPES = ((1, 1, 1), (3, 2, 1))


def test_random_scan_converges():
    """320 random problems of the whole domain (pinned seed: the scan must be reproducible; it was
    not used to tune the solver): every risk converges and is finite."""
    groups = {k: v for k, v in scan(seed=2026, per_group=80).items() if k[1] in DEFAULT_SHAPES}
    assert _check_scan(groups, "risks") == 320


@pytest.mark.slow
def test_random_scan_converges_every_shape():
    """Thousands of problems, every shape of the scan: the risks, and eta_u* (the student solved
    over all of [0, 1], with derivatives) on a part of them."""
    groups = scan(seed=2027, per_group=150)
    assert _check_scan(groups, "risks") == 150 * len(SHAPES) * len(MODELS)
    assert _check_scan({k: v[:20] for k, v in groups.items()}, "point") == 20 * len(SHAPES) * len(MODELS)


def test_exactly_at_the_threshold_the_risk_is_inf():
    """A min-norm teacher at gamma p_T = 1, or a min-norm student at nu p_S = 1: inf, not an error."""
    base = Problem.from_dict(REPRODUCERS[0])
    for problem in (base.replace(gamma=1 / base.p_T), base.replace(nu=1 / base.p_S, ridge_student=0.0)):
        out = asymptotics.evaluate(problem, "point")
        assert out["at_threshold"] and np.isinf(out["student_risk"])


# Newly reachable problems against the simulator, under the validation table's pass rule
# (w2s.validation.check_point: |MC - theory| <= 4 se + 5 |theory| / d_z).
SPOT_CHECKS = [
    (0, {}),  # the min-norm teacher just past its threshold
    (1, {}),
    (0, dict(ridge_student=0.0, nu=0.75, eta_u=0.0)),  # and a min-norm student past its own (nu p_S = 1.5)
    (1, dict(group_model="mean-shift", ridge_student=0.0, nu=1.6, eta_u=1.0)),  # nu p_S = 3.2
]


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(SPOT_CHECKS)))
def test_newly_reachable_problems_match_simulation(index):
    which, changes = SPOT_CHECKS[index]
    problem = Problem.from_dict(REPRODUCERS[which]).replace(d_z=80, **changes)
    row = validation.check_point(problem, trials=30, seed=11)  # fixed seed: a statistical test must not flake
    assert row["ok"], row


_TURNED_ON: list[str] = []


def test_a_test_may_turn_the_jax_cache_on(tmp_path, monkeypatch):
    """(With the next test:) ``w2s claims`` run in-process turns JAX's compilation cache on ..."""
    import w2s

    monkeypatch.setenv("W2S_JAX_CACHE", str(tmp_path))
    w2s.use_jax_cache()
    assert jax.config.jax_compilation_cache_dir == str(tmp_path)
    _TURNED_ON.append(str(tmp_path))


def test_the_jax_cache_setting_is_restored_after_each_test():
    """... and conftest turns it off again for the tests after it (a long slow suite with the cache
    on once crashed inside XLA's compiler). Run alone, there is nothing to check."""
    assert jax.config.jax_compilation_cache_dir not in _TURNED_ON
