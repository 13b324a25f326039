"""Tests of the Monte-Carlo simulator (simulate/) and of `w2s simulate` / `w2s compare`.

Statistical tests pass when |mean - theory| <= Z * se (+ a documented finite-size
allowance for asymptotic formulas). Z = 4.5 per comparison: with at most ~40 Gaussian
comparisons in this file the family-wise false-failure probability is below 40 * 6.8e-6 < 3e-4.
Keys and seeds are pinned so that a run is reproducible; a failure is then a real regression,
not a fresh draw.
"""

import functools
import json
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import asymptotics
import simulate
from setting.moments import augmented_moment, cross_moment, student_moment, teacher_moment
from simulate import _random, _sampling, _solver
from w2s import Problem
from w2s.cli import main

Z = 4.5
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _within(mean, se, theory, allowance=0.0):
    return abs(mean - theory) <= Z * se + allowance


# ------------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("group_model", ["mixture", "mean-shift"])
def test_sample_moments_match_population(group_model):
    # Pinned key: a fixed draw, so the check is reproducible.
    pr = Problem(
        mu_xi=np.array([1.5, -0.5]), T=np.zeros((2, 0)), S=np.zeros((2, 0)), sigma_xi2=0.7, group_model=group_model
    )
    eta, n = 0.3, 200_000
    xi = simulate.sample_group_features(pr, eta, n, key=jax.random.key(11))
    assert xi.shape == (n, 2) and xi.dtype == jnp.float64
    x = np.asarray(simulate.group_map(xi, np.eye(2)))  # [1; xi]
    prods = x[:, :, None] * x[:, None, :]
    mean, se = prods.mean(0), prods.std(0, ddof=1) / math.sqrt(n)
    target = np.asarray(augmented_moment(pr, eta))  # first row: E xi = eta mu; block: E xi xi^T
    se = np.where(se > 0, se, 1e-300)
    assert np.all(np.abs(mean - target) <= Z * se + 1e-12), (mean, target)


def test_mixture_group_fraction_and_components():
    pr = Problem(mu_xi=np.array([10.0]), sigma_xi2=0.01)
    xi = np.asarray(simulate.sample_group_features(pr, 0.25, 100_000, key=jax.random.key(5)))[:, 0]
    g = xi > 5.0  # components 1000 sigma apart: the group is read off exactly
    assert abs(g.mean() - 0.25) <= Z * math.sqrt(0.25 * 0.75 / xi.size)
    assert abs(xi[g].mean() - 10.0) < 0.01 and abs(xi[~g].mean()) < 0.01


KEYS = [jax.random.key(0), jax.random.key(2**31 + 5), jax.random.fold_in(jax.random.key(7), 3)]


@pytest.mark.parametrize("shape", [(5,), (37, 11), (3, 4, 5)])
def test_unrolled_threefry_is_jax_random_bit_for_bit(shape):
    # The fast sampler is JAX's own stream, only compiled differently (see simulate._random).
    assert jax.config.jax_threefry_partitionable

    @jax.jit
    def ours(key):
        bits64 = _random.random_bits(key, shape, 64)
        return (_random.random_bits(key, shape, 32), bits64, _random.normal(key, shape, jnp.float32),
                _random.normal(key, shape, jnp.float64), _random.uniform_from_bits(bits64, LO, 1.0))  # fmt: skip

    @jax.jit
    def theirs(key):
        return (jax.random.bits(key, shape, jnp.uint32), jax.random.bits(key, shape, jnp.uint64),
                jax.random.normal(key, shape, jnp.float32), jax.random.normal(key, shape, jnp.float64),
                jax.random.uniform(key, shape, jnp.float64, LO, 1.0))  # fmt: skip

    for key in KEYS:
        for a, b in zip(ours(key), theirs(key), strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


LO = np.nextafter(-1.0, 0.0)


def test_random_bits_rejects_bad_width():
    with pytest.raises(ValueError, match="width: must be 32 or 64"):
        _random.random_bits(jax.random.key(0), (3,), 16)


def test_float32_normal_exact_moments():
    # All 2**23 values of the float32 sampler, enumerated: it differs from N(0, 1) by about 1e-7
    # in mean and variance, far below any Monte-Carlo standard error, and is cut at about 5.3 sd.
    m = _random.float32_normal_moments()
    assert abs(m["mean"]) < 1e-6 and abs(m["var"] - 1.0) < 1e-6 and abs(m["kurtosis"] - 3.0) < 1e-4
    assert -5.5 < m["min"] < -5.3 and 5.1 < m["max"] < 5.3


@pytest.mark.parametrize("group_model", ["mixture", "mean-shift"])
def test_design_rows_have_population_moments(group_model):
    # The rows the solver sees (float32 z from the fast sampler, w from D(eta_l), labels):
    # E zz^T = I, E z w^T = 0, E ww^T = M(eta_l), E z y = beta, E y^2 = |beta|^2 + sigma_y^2.
    pr = Problem.from_scalars(p_T=3, p_S=2, similarity=0.5, mu_T2=4, mu_S2=2, eta_l=0.3, d_z=3, group_model=group_model)
    n = 60_000
    beta = jnp.array([0.6, -0.8, 0.0])
    design = _sampling.materialise(simulate.teacher_design(pr, beta, n, key=jax.random.key(4)))
    zs, ws, ys = (np.asarray(a).reshape(-1, *a.shape[2:])[:n] for a in design.arrays)
    assert zs.dtype == np.float32 and ws.dtype == np.float64
    x = np.concatenate([zs.astype(np.float64), ws, ys[:, None]], axis=1)
    prods = x[:, :, None] * x[:, None, :]
    mean, se = prods.mean(0), prods.std(0, ddof=1) / math.sqrt(n)
    target = np.zeros_like(mean)
    target[:3, :3] = np.eye(3)
    target[3:6, 3:6] = np.asarray(teacher_moment(pr, pr.eta_l))
    target[:3, 6] = target[6, :3] = beta
    target[6, 6] = 1.0 + pr.sigma_y2
    target[3:6, 6] = target[6, 3:6] = 0.0  # z is centred and independent of w
    assert np.all(np.abs(mean - target) <= Z * np.where(se > 0, se, 1e-300) + 1e-12), (mean - target) / se


# ----------------------------------------------------------------- structured == dense
@functools.partial(jax.jit, static_argnames=("n", "dual"))
def _teacher_solve(pr, key, lam, n, dual):
    beta = jnp.zeros(pr.d_z).at[0].set(1.0)
    design = _sampling.materialise(simulate.teacher_design(pr, beta, n, key=key))
    theta, info = simulate.ridge_fit(design, lam, dual=dual, tol=1e-13)
    return theta, info, design.arrays


@pytest.mark.parametrize("n, dual", [(60, False), (24, True)], ids=["primal", "dual"])
def test_ridge_fit_equals_dense_solve(n, dual, monkeypatch):
    # d p_T = 36: n = 60 is under-parameterised (primal CG), n = 24 over-parameterised (dual CG).
    # At most 21 rows per chunk, reduced in 7-row blocks, so the blocked reduction over several
    # chunks and the padded last chunk are exercised (streaming: test_trial_equals_dense_refit).
    monkeypatch.setattr(_sampling, "CHUNK_FLOATS", 12 * 21)
    monkeypatch.setattr(_sampling, "BLOCK_FLOATS", 12 * 7)
    pr = Problem.from_scalars(p_T=3, p_S=2, similarity=0.5, mu_T2=4, mu_S2=2, eta_l=0.3, d_z=12)
    for lam in (0.0, 0.3):  # min-norm and ridge
        theta, info, (Zs, Ws, ys) = _teacher_solve(pr, jax.random.key(1), lam, n, dual)
        m = _sampling.chunk_rows(12, n)
        assert Zs.shape[:2] == (-(-n // m), m) and Zs.dtype == np.float32
        assert m % 7 == 0 and n < Zs.shape[0] * m < n + Zs.shape[0] * 7  # padded, by under a block per chunk
        assert bool(info.converged) and float(info.residual) < 1e-12
        Zn, Wn, yn = (np.asarray(a).reshape(-1, *a.shape[2:])[:n] for a in (Zs, Ws, ys))
        dense = simulate.dense_ridge(simulate.kron_rows(Zn, Wn), yn, lam).reshape(12, 3)
        np.testing.assert_allclose(np.asarray(theta), dense, rtol=0, atol=1e-8 * np.abs(dense).max())
        if lam == 0.0 and dual:  # the min-norm fit interpolates the labels
            X = simulate.kron_rows(Zn, Wn)
            np.testing.assert_allclose(X @ np.asarray(theta).ravel(), yn, atol=1e-9)


def _dense_fit(pr, key, fit, cache_bytes):
    """Re-fit one trial with the explicit n x (d p) designs on the same samples."""
    cfg = simulate.config(pr, cache_bytes=cache_bytes)
    _, k_t, k_s = jax.random.split(key, 3)

    def rows(design, n):
        Zs, Fs, ys = (np.asarray(a) for a in _sampling.materialise(design).arrays)
        return Zs.reshape(-1, design.d)[:n], Fs.reshape(-1, design.p)[:n], ys.reshape(-1)[:n]

    Zt, W, y = rows(simulate.teacher_design(pr, fit.beta, cfg.n, key=k_t), cfg.n)
    th_t = simulate.dense_ridge(simulate.kron_rows(Zt, W), y, pr.ridge_teacher).reshape(pr.d_z, pr.p_T)
    Zs, Psi, u = rows(simulate.student_design(pr, jnp.asarray(th_t), cfg.N, key=k_s), cfg.N)
    th_s = simulate.dense_ridge(simulate.kron_rows(Zs, Psi), u, pr.ridge_student).reshape(pr.d_z, pr.p_S)
    return th_t, th_s, cfg


def cfg_cond(pr, role, key, fit, cache_bytes) -> float:
    """Condition number of the explicit design of ``role`` (``"teacher"`` or ``"student"``)."""
    cfg = simulate.config(pr, cache_bytes=cache_bytes)
    _, k_t, k_s = jax.random.split(key, 3)
    if role == "teacher":
        design, n = simulate.teacher_design(pr, fit.beta, cfg.n, key=k_t), cfg.n
    else:
        design, n = simulate.student_design(pr, fit.theta_teacher, cfg.N, key=k_s), cfg.N
    Zs, Fs, _ = (np.asarray(a) for a in _sampling.materialise(design).arrays)
    return float(np.linalg.cond(simulate.kron_rows(Zs.reshape(-1, design.d)[:n], Fs.reshape(-1, design.p)[:n])))


FIT_CASES = [
    # dual min-norm teacher (n = 24 < d p_T = 36), primal ridge student (N = 120), streamed.
    pytest.param(dict(gamma=0.5, nu=0.1, ridge_student=0.1), 0, id="dual-minnorm-teacher-streamed"),
    # primal ridge teacher (n = 120), dual min-norm student (N = 6 < d p_S = 24), mean-shift, cached.
    pytest.param(
        dict(gamma=0.1, nu=2.0, ridge_teacher=0.3, group_model="mean-shift"),
        None,
        id="dual-student-cached",
        marks=pytest.mark.slow,
    ),
]


def _fit_problem(case):
    return Problem.from_scalars(
        p_T=3, p_S=2, similarity=0.5, mu_T2=4, mu_S2=2, eta_l=0.1, eta_u=0.4, eta_t=0.5, d_z=12, **case
    )


@pytest.mark.parametrize("case, cache_bytes", FIT_CASES)
def test_trial_equals_dense_refit(case, cache_bytes):
    pr = _fit_problem(case)
    key = jax.random.key(2)
    f = simulate.fit(pr, key=key, tol=1e-13, cache_bytes=cache_bytes)
    th_t, th_s, cfg = _dense_fit(pr, key, f, cache_bytes)
    assert bool(f.teacher_info.converged) and bool(f.student_info.converged)
    assert cfg.cache_teacher == (cache_bytes is None)
    # The refit draws the rows again in its own compiled program. XLA may round a float32 normal's
    # last bit differently there than inside the fit (seen with jax 0.12: the streamed teacher's
    # fit leaves a 5e-9 relative residual on the refit's rows), so the rows agree to float32
    # precision, and a fit moves by up to about cond(X) eps32 relative; 1e-8 is the solve's own.
    eps32 = float(np.finfo(np.float32).eps)
    for theta, dense, design in ((f.theta_teacher, th_t, "teacher"), (f.theta_student, th_s, "student")):
        scale = np.abs(dense).max()
        rel = max(1e-8, 2 * cfg_cond(pr, design, key, f, cache_bytes) * eps32)
        np.testing.assert_allclose(np.asarray(theta), dense, rtol=0, atol=rel * scale, err_msg=design)


@pytest.mark.parametrize("cond", [2.0, 1e3])
def test_mixed_precision_refinement_reaches_float64_accuracy(cond):
    # float32 corrections, float64 residuals: the answer is float64-accurate, not float32.
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    A = (q * np.geomspace(1.0, cond, 40)) @ q.T
    b = rng.standard_normal((20, 2))  # matrix-shaped unknowns, as for Theta
    A64, A32 = jnp.asarray(A), jnp.asarray(A, jnp.float32)

    def op(M):
        return lambda x: (M @ x.reshape(-1)).reshape(x.shape)

    ident = lambda r: r  # noqa: E731
    x, info = jax.jit(lambda b: _solver.refine(op(A64), op(A32), b, ident, tol=1e-12, maxiter=10_000))(jnp.asarray(b))
    exact = np.linalg.solve(A, b.reshape(-1)).reshape(b.shape)
    assert bool(info.converged) and float(info.residual) <= 1e-11
    np.testing.assert_allclose(np.asarray(x), exact, rtol=0, atol=1e-12 * cond * np.abs(exact).max())
    # Out of iterations: reported, not hidden.
    _, info = _solver.refine(op(A64), op(A32), jnp.asarray(b), ident, tol=1e-12, maxiter=2)
    assert not bool(info.converged) and int(info.iterations) <= 2
    # b = 0 gives x = 0 at once.
    x, info = _solver.refine(op(A64), op(A32), jnp.zeros((20, 2)), ident, tol=1e-12, maxiter=10)
    assert bool(info.converged) and int(info.iterations) == 0 and not np.any(np.asarray(x))


@pytest.mark.parametrize("case, cache_bytes", [(0, 0), (1, None)], ids=["dual-streamed-cg", "primal-cached-refinement"])
def test_nonconvergence_is_raised(case, cache_bytes):
    pr = _fit_problem(FIT_CASES[case].values[0])
    with pytest.raises(simulate.SolveError, match="teacher solve did not converge"):
        simulate.trial(pr, key=jax.random.key(0), maxiter=2, cache_bytes=cache_bytes)


# ------------------------ oracles with p_T = p_S = 1 (docs/theory.md, "Published special cases")
def _dobriban_wager(gamma, lam, r2, s2):
    """O2: ridge risk on an isotropic design (Dobriban & Wager 2018)."""
    a = 1.0 - gamma + lam
    m = (-a + math.sqrt(a * a + 4 * gamma * lam)) / (2 * gamma * lam)
    # m solves gamma lam m^2 + (1 - gamma + lam) m - 1 = 0; differentiate implicitly in lam.
    mp = (gamma * m * m + m) / (2 * gamma * lam * m + a)  # m' = -dm/dlam
    return r2 * lam**2 * mp + s2 * gamma * (m - lam * mp)


def _hastie(gamma, r2, s2):
    """O1: ridgeless risk on an isotropic design (Hastie, Montanari, Rosset, Tibshirani 2022)."""
    return s2 * gamma / (1 - gamma) if gamma < 1 else r2 * (1 - 1 / gamma) + s2 / (gamma - 1)


def _exact_finite(d, n, r2, s2):
    """O4: exact E||beta_hat - beta||^2 for OLS (n > d + 1) and min-norm (d > n + 1), Gaussian design."""
    return s2 * d / (n - d - 1) if n > d + 1 else r2 * (1 - n / d) + s2 * n / (d - n - 1)


def test_oracle_formulas_match_published_values():
    # The formulas used below reproduce the published example values.
    assert _hastie(0.5, 1, 0.5) == pytest.approx(0.5) and _hastie(2, 1, 0.5) == pytest.approx(1.0)
    assert _dobriban_wager(0.5, 0.1, 1, 0.5) == pytest.approx(0.3190, abs=5e-5)
    assert _dobriban_wager(0.5, 1.0, 1, 0.5) == pytest.approx(0.4020, abs=5e-5)
    assert _dobriban_wager(2.0, 0.1, 1, 0.5) == pytest.approx(0.8669, abs=5e-5)
    assert _dobriban_wager(2.0, 1.0, 1, 0.5) == pytest.approx(1 / math.sqrt(2), abs=5e-5)
    assert _exact_finite(50, 120, 1.0, 0.3) == pytest.approx(0.21739, abs=5e-6)
    assert _exact_finite(120, 50, 1.0, 0.3) == pytest.approx(0.80072, abs=5e-6)


# Finite-size allowance for the asymptotic O1/O2: the bias at finite d_z is O(1/d_z). The exact
# finite-sample risks (O4) exceed the O1 limits by 1.0% (gamma = 0.5) and 1.0% (gamma = 2) at
# d_z = 100; 3/d_z relative covers that with margin.
def _allowance(theory, d_z):
    return 3.0 / d_z * abs(theory)


D_Z_ORACLE, R2, S2 = 100, 1.0, 0.5


def _oracle_problem(gamma):
    return Problem.from_scalars(p_T=1, p_S=1, d_z=D_Z_ORACLE, gamma=gamma, signal=R2, sigma_y2=S2, nu=0.0)


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_isotropic_oracles_O1_O2_O4(gamma):
    base = _oracle_problem(gamma)
    for i, lam in enumerate([0.0, 0.1, 1.0]):  # gamma = 2: lambda = 1 is the optimum gamma sigma^2 / r^2
        pr = base.replace(ridge_teacher=lam)
        est = simulate.estimate(pr, trials=200, seed=100 + i)  # pinned seeds: reproducible draws
        t = est["teacher_risk"]
        if lam == 0:
            exact = _exact_finite(D_Z_ORACLE, pr.n, R2, S2)  # O4: exact at this d_z, no allowance
            assert _within(t["mean"], t["se"], exact), (t, exact)
            theory = _hastie(gamma, R2, S2)
        else:
            theory = _dobriban_wager(gamma, lam, R2, S2)
        assert _within(t["mean"], t["se"], theory, _allowance(theory, D_Z_ORACLE)), (lam, t, theory)
        # p_S = 1 and nu = 0: the student is the population projection onto the same span, i.e. the teacher.
        assert est["gain"]["mean"] == pytest.approx(0.0, abs=1e-10)
        assert est["teacher_risk_g0"]["mean"] == pytest.approx(t["mean"], rel=1e-12)


# ------------------------------------------------------------------------ misfit identity
@pytest.mark.parametrize("group_model", ["mixture", pytest.param("mean-shift", marks=pytest.mark.slow)])
def test_misfit_identity_O5(group_model):
    # eta_u = eta_t, nu = 0, ridgeless student: err(T) - err(S) = E_u (f_T - f_S)^2, trial by trial.
    pr = Problem.from_scalars(
        p_T=3, p_S=2, similarity=0.5, mu_T2=4, mu_S2=2, eta_l=0.1, eta_u=0.4, eta_t=0.4,
        gamma=0.2, nu=0.0, ridge_teacher=0.2, d_z=16, group_model=group_model,
    )  # fmt: skip
    for seed in range(3):
        f = simulate.fit(pr, key=jax.random.key(seed))
        r = simulate.fit_risks(pr, f)
        tT, tS = np.asarray(f.theta_teacher), np.asarray(f.theta_student)
        M, C, K = (np.asarray(m(pr, pr.eta_u)) for m in (teacher_moment, cross_moment, student_moment))
        misfit = np.trace(tT @ M @ tT.T) - 2 * np.trace(tT @ C @ tS.T) + np.trace(tS @ K @ tS.T)
        assert float(r["gain"]) == pytest.approx(float(misfit), abs=1e-10)
        assert float(misfit) > 0


# ------------------------------------------------------------------------- determinism
def test_same_seed_same_result_and_keys():
    pr = _oracle_problem(0.5)  # shares the compiled batch with the oracle test
    a = simulate.estimate(pr, trials=64, seed=3)
    b = simulate.estimate(pr, trials=64, seed=3)
    c = simulate.estimate(pr, trials=64, seed=4)
    assert a == b
    assert a["teacher_risk"] != c["teacher_risk"]
    assert set(a) == {*simulate.RISK_KEYS, "trials", "seed", "d_z", "n", "N"}
    assert (a["trials"], a["seed"], a["d_z"], a["n"], a["N"]) == (64, 3, 100, 200, None)
    for k in simulate.RISK_KEYS:
        assert set(a[k]) == {"mean", "se"} and (a[k]["se"] > 0 or k == "gain")  # p_S = 1: the gain is 0


@pytest.mark.parametrize("bad", [dict(trials=1, seed=0), dict(trials=4, seed=-1), dict(trials=2.5, seed=0)])
def test_estimate_rejects_bad_arguments(bad):
    with pytest.raises(ValueError, match="trials|seed"):
        simulate.estimate(Problem(d_z=4), **bad)


# --------------------------------------------------------------------------------- CLI
# Same shapes and sizes as the misfit test's problem, so the two share one compiled trial.
CLI_PROBLEM = ["--config", str(EXAMPLES / "mixture.toml"), "--set", "d_z=16", "--set", "gamma=0.2"]


def test_cli_simulate_json(capsys):
    assert main(["simulate", *CLI_PROBLEM, "--trials", "4", "--seed", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for k in ("teacher_risk", "student_risk", "gain", "teacher_risk_g0", "student_risk_g1"):
        assert set(out[k]) == {"mean", "se"}
    assert (out["trials"], out["seed"], out["d_z"], out["n"], out["N"]) == (4, 1, 16, 80, None)
    assert out["gain"]["mean"] == pytest.approx(out["teacher_risk"]["mean"] - out["student_risk"]["mean"])


def _interrupt_at(monkeypatch, call: int):
    """Make the ``call``-th trial dispatch raise KeyboardInterrupt, as Ctrl-C would."""
    real, calls = simulate._trial.trial_program, []

    def trial_jit(*args):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(simulate._trial, "trial_program", trial_jit)


def test_interrupted_run_keeps_finished_trials(capsys, monkeypatch):
    full = simulate.estimate(_oracle_problem(0.5), trials=3, seed=9, return_trials=True)
    _interrupt_at(monkeypatch, 4)
    with pytest.raises(simulate.Interrupted) as e:
        simulate.estimate(_oracle_problem(0.5), trials=10, seed=9, return_trials=True)
    assert (e.value.finished, e.value.requested) == (3, 10)
    # The finished trials are those of an uninterrupted run with the same seed (keys do not depend on R).
    np.testing.assert_array_equal(e.value.partial["per_trial"]["gain"], full["per_trial"]["gain"])
    assert e.value.partial["trials"] == 3

    _interrupt_at(monkeypatch, 4)
    assert main(["simulate", *CLI_PROBLEM, "--trials", "10", "--seed", "1", "--json"]) == 130
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["trials"] == 3 and out["interrupted"] == {"finished": 3, "requested": 10}
    assert "interrupted after 3 of 10 trials" in captured.err

    _interrupt_at(monkeypatch, 2)  # one finished trial: no standard error, nothing to report
    assert main(["simulate", *CLI_PROBLEM, "--trials", "10", "--seed", "1"]) == 130
    captured = capsys.readouterr()
    assert captured.out == "" and "w2s simulate: interrupted" in captured.err


def test_cli_compare_json_and_table(capsys, monkeypatch):
    # Only the "paper" method: other registered methods are tested by their own modules.
    only = {"paper": asymptotics.METHODS["paper"]}
    monkeypatch.setattr(asymptotics, "METHODS", only)
    monkeypatch.setattr(asymptotics._methods, "METHODS", only)
    assert main(["compare", *CLI_PROBLEM, "--trials", "4", "--seed", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    row = out["methods"]["paper"]["teacher_risk"]
    emp = out["empirical"]["teacher_risk"]
    assert row["z"] == pytest.approx((emp["mean"] - row["predicted"]) / emp["se"])
    assert set(out["methods"]["paper"]) == {"teacher_risk", "student_risk", "gain"}
    assert main(["compare", *CLI_PROBLEM, "--trials", "4", "--seed", "1"]) == 0
    table = capsys.readouterr().out
    assert "paper" in table and "teacher_risk" in table and " z" in table


@pytest.mark.parametrize(
    "argv, message",
    [
        (["simulate", *CLI_PROBLEM, "--trials", "1"], "--trials"),
        (["simulate", *CLI_PROBLEM, "--seed", "-3"], "--seed"),
        (["simulate", *CLI_PROBLEM, "--set", "eta_u=1.5"], "eta_u"),
        (["compare", "--config", "/nonexistent.toml"], "config"),
    ],
)
def test_cli_bad_input_exits_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
