"""General Gaussian group mixtures (:func:`asymptotics.mixture_risks`, docs/theory.md "General
Gaussian group mixtures"): against a Monte Carlo written here independently, against the exact
theory of the paper's model written as a mixture over quadrature nodes, exact limits, and bad input.

Monte-Carlo pass rule (as in :mod:`w2s.validation`): ``|MC - theory| <= 4 se + b``. ``z = 4`` gives a
false failure with probability 6e-5 per comparison, about 2e-3 over the 24 pinned ones (8 cases,
teacher, student, gain), before the allowance; ``b`` is the finite-size bias
of a proportional-limit equivalent, of relative order ``1/|n - r|`` for a fit of ``r`` parameters on
``n`` samples (ordinary least squares: ``E = sigma^2 r/(n - r - 1)`` against the limit
``sigma^2 r/(n - r)``): ``b_T = |T|/|n - r_w|`` for the teacher, ``b_S = |S| (1/|N - r_s| +
1/|n - r_w|)`` for the student (it inherits the teacher's), ``b_T + b_S`` for the gain.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import asymptotics as A
from w2s import Problem

Z = 4.0


# ----------------------------------------------------------------------------- random mixtures
def random_spec(rng, K, dw, ds, *, intercept=True, loading=True, noise=0.2):
    """K groups of (weak, strong) features with joint covariances of spectrum in [0.2, 2] and
    random eigenvectors, N(0, 1) means per coordinate (norm ~ sqrt(d), as for standardised real
    features), label means +1, -1, +1, ... and, with ``intercept``, a constant coordinate (mean 1,
    variance 0) appended to each view."""
    d = dw + ds
    covs = np.empty((K, d, d))
    for k in range(K):
        V, _ = np.linalg.qr(rng.standard_normal((d, d)))
        covs[k] = (V * rng.uniform(0.2, 2.0, d)) @ V.T
    means = rng.standard_normal((K, d))
    spec = dict(
        means_weak=means[:, :dw],
        means_strong=means[:, dw:],
        cov_weak=covs[:, :dw, :dw],
        cov_strong=covs[:, dw:, dw:],
        cov_cross=covs[:, :dw, dw:],
        label_mean=np.array([(-1.0) ** k for k in range(K)]),
        label_loading=rng.standard_normal((K, dw)) / np.sqrt(dw) if loading else np.zeros((K, dw)),
        label_noise=np.full(K, noise),
    )
    if intercept:
        spec = with_intercept(spec)
    return spec


def with_intercept(spec):
    """Append a coordinate of mean 1 and variance 0 to both views."""
    K = spec["means_weak"].shape[0]
    out = dict(spec)
    out["means_weak"] = np.concatenate([spec["means_weak"], np.ones((K, 1))], 1)
    out["means_strong"] = np.concatenate([spec["means_strong"], np.ones((K, 1))], 1)
    out["cov_weak"] = np.pad(spec["cov_weak"], ((0, 0), (0, 1), (0, 1)))
    out["cov_strong"] = np.pad(spec["cov_strong"], ((0, 0), (0, 1), (0, 1)))
    out["cov_cross"] = np.pad(spec["cov_cross"], ((0, 0), (0, 1), (0, 1)))
    out["label_loading"] = np.pad(spec["label_loading"], ((0, 0), (0, 1)))
    return out


# ----------------------------------------------------------------------------- independent Monte Carlo
class MonteCarlo:
    """Direct sampling and ridge / min-norm solves; risks from the fitted parameters exactly
    (Gaussian moments per group, no test sample)."""

    def __init__(self, spec):
        self.s = spec
        self.dw = spec["means_weak"].shape[1]
        self.mean = np.concatenate([spec["means_weak"], spec["means_strong"]], 1)
        top = np.concatenate([spec["cov_weak"], spec["cov_cross"]], 2)
        bottom = np.concatenate([np.swapaxes(spec["cov_cross"], 1, 2), spec["cov_strong"]], 2)
        self.cov = np.concatenate([top, bottom], 1)
        ev, V = np.linalg.eigh(self.cov)
        self.root = V * np.sqrt(np.maximum(ev, 0.0))[:, None, :]  # cov_k = root_k root_k^T (PSD, singular allowed)

    def sample(self, rng, weights, m):
        s, dw = self.s, self.dw
        k = np.sort(rng.choice(len(weights), size=m, p=weights))
        x = np.concatenate([
            self.mean[g] + rng.standard_normal((int(np.sum(k == g)), self.mean.shape[1])) @ self.root[g].T
            for g in range(len(weights))
        ])  # fmt: skip
        y = s["label_mean"][k] + np.einsum("ni,ni->n", x[:, :dw] - s["means_weak"][k], s["label_loading"][k])
        y = y + np.sqrt(s["label_noise"][k]) * rng.standard_normal(m)
        return x[:, :dw], x[:, dw:], y

    @staticmethod
    def fit(X, y, ridge):
        m, d = X.shape
        if ridge > 0:
            return np.linalg.solve(X.T @ X / m + ridge * np.eye(d), X.T @ y / m)
        return np.linalg.lstsq(X, y, rcond=None)[0]  # the min-norm least-squares solution

    def risk(self, theta, view, weights):
        """E (theta^T x_view - y)^2 on D(weights)."""
        s = self.s
        a = s["label_loading"]
        if view == "weak":
            bias = s["means_weak"] @ theta - s["label_mean"]
            dt = theta[None, :] - a
            var = np.einsum("ki,kij,kj->k", dt, s["cov_weak"], dt)
        else:
            bias = s["means_strong"] @ theta - s["label_mean"]
            var = (
                theta @ s["cov_strong"] @ theta
                - 2 * np.einsum("kij,ki,j->k", s["cov_cross"], a, theta)
                + np.einsum("ki,kij,kj->k", a, s["cov_weak"], a)
            )
        return float(weights @ (bias**2 + var + s["label_noise"]))

    def trials(self, seed, trials, wl, wu, wt, *, n, N, ridge_teacher, ridge_student):
        rng = np.random.default_rng(seed)
        out = np.empty((trials, 2))
        for i in range(trials):
            Xw, _, y = self.sample(rng, wl, n)
            tT = self.fit(Xw, y, ridge_teacher)
            if math.isinf(N):  # the population fit: (E_u x_s x_s^T + lam I)^{-1} E_u x_s x_w^T theta_T
                ms, mw = self.s["means_strong"], self.s["means_weak"]
                Rs = np.einsum("k,kij->ij", wu, self.s["cov_strong"] + ms[:, :, None] * ms[:, None, :])
                cross = np.swapaxes(self.s["cov_cross"], 1, 2) + ms[:, :, None] * mw[:, None, :]
                Sx = np.einsum("k,kij->ij", wu, cross)
                tS = np.linalg.lstsq(Rs + ridge_student * np.eye(len(Rs)), Sx @ tT, rcond=None)[0]
            else:
                Xw2, Xs2, _ = self.sample(rng, wu, N)
                tS = self.fit(Xs2, Xw2 @ tT, ridge_student)
            out[i] = self.risk(tT, "weak", wt), self.risk(tS, "strong", wt)
        return out


def compare(spec, seed, trials, *, n, N, ridge_teacher, ridge_student, weights):
    """Theory against Monte Carlo for teacher, student and gain: (theory, mean, se, z, allowance)."""
    wl, wu, wt = weights
    mixture = A.GroupMixture(**spec)
    theory = A.mixture_risks(mixture, wl, wu, wt, n=n, N=N, ridge_teacher=ridge_teacher, ridge_student=ridge_student)
    runs = MonteCarlo(spec).trials(seed, trials, wl, wu, wt, n=n, N=N, ridge_teacher=ridge_teacher,
                                   ridge_student=ridge_student)  # fmt: skip
    runs = np.concatenate([runs, runs[:, :1] - runs[:, 1:]], 1)  # the gain, paired within a trial
    rw, rs = mixture.rank_weak, mixture.rank_strong
    inv = lambda m, r: 0.0 if math.isinf(m) else 1.0 / abs(m - r)  # noqa: E731
    T, S = float(theory["teacher"]), float(theory["student"])
    bT = abs(T) * inv(n, rw)
    bS = abs(S) * (inv(N, rs) + inv(n, rw))
    rows = {}
    for j, (name, b) in enumerate((("teacher", bT), ("student", bS), ("gain", bT + bS))):
        mean, se = runs[:, j].mean(), runs[:, j].std(ddof=1) / math.sqrt(trials)
        th = float(theory[name])
        rows[name] = dict(theory=th, mean=mean, se=se, z=(mean - th) / se, b=b, ok=abs(mean - th) <= Z * se + b)
    return rows


def _weights(rng, K):
    return tuple(rng.dirichlet(np.full(K, 3.0)) for _ in range(3))


# Shapes (r = rank of a view's data, the intercept included): teacher under- and over-parameterised,
# ridge and ridgeless; student with N finite (both regimes) and infinite; K = 2..4. The default
# cases share one shape (K = 4, d_w = d_s = 24 + 1), so they compile once.
MC_CASES = [
    # K, d_w, d_s, n, N, ridge_teacher, ridge_student
    (4, 24, 24, 80, 150, 0.1, 0.1),  # ridge, under / under
    (4, 24, 24, 15, 18, 0.0, 0.0),  # min-norm over / over
    (4, 24, 24, 60, math.inf, 0.0, 0.3),  # min-norm under, population ridge student
]
MC_CASES_SLOW = [
    (2, 30, 20, 90, 150, 0.1, 0.1),  # ridge, under / under
    (3, 30, 20, 90, math.inf, 0.0, 0.0),  # min-norm under, population student
    (4, 40, 30, 25, 60, 0.0, 0.0),  # min-norm over / under
    (4, 40, 30, 25, 20, 0.05, 0.0),  # ridge over / min-norm over
    (3, 60, 40, 45, 30, 0.0, 0.02),  # min-norm over / ridge over
]


def _monte_carlo(case, seed):
    K, dw, ds, n, N, lt, ls = case
    rng = np.random.default_rng(seed)  # fixed seeds: a statistical test must not flake
    spec = random_spec(rng, K, dw, ds)
    rows = compare(spec, 1000 + seed, 150, n=n, N=N, ridge_teacher=lt, ridge_student=ls, weights=_weights(rng, K))
    assert all(r["ok"] for r in rows.values()), rows


@pytest.mark.parametrize("case", range(len(MC_CASES)))
def test_monte_carlo(case):
    _monte_carlo(MC_CASES[case], 10 + case)


@pytest.mark.slow
@pytest.mark.parametrize("case", range(len(MC_CASES_SLOW)))
def test_monte_carlo_more_shapes(case):
    _monte_carlo(MC_CASES_SLOW[case], 20 + case)


@pytest.mark.slow
def test_monte_carlo_at_the_deep_paths_scale():
    """The deep path's regime: K = 4 (label x attribute), d_w = d_s = 384 + 1 (a constant
    coordinate), n = 150 labeled (teacher over-parameterised), N = 2000 pseudolabeled, ridges 1e-2."""
    rng = np.random.default_rng(30)  # fixed seed: a statistical test must not flake
    spec = random_spec(rng, 4, 384, 384)
    weights = (np.array([0.45, 0.05, 0.45, 0.05]), np.array([0.3, 0.2, 0.3, 0.2]), np.full(4, 0.25))
    rows = compare(spec, 31, 40, n=150, N=2000, ridge_teacher=1e-2, ridge_student=1e-2, weights=weights)
    assert all(r["ok"] for r in rows.values()), rows


def test_monte_carlo_rule_rejects_a_wrong_theory():
    """The pass rule has power: the same formulas with a population teacher (n -> infinity: no
    teacher error reaches the student) fail it on the first case."""
    K, dw, ds, n, N, lt, ls = MC_CASES[0]
    rng = np.random.default_rng(10)
    spec = random_spec(rng, K, dw, ds)
    weights = _weights(rng, K)
    rows = compare(spec, 1000, 150, n=n, N=N, ridge_teacher=lt, ridge_student=ls, weights=weights)
    wrong = A.mixture_risks(A.GroupMixture(**spec), *weights, n=1e12, N=N, ridge_teacher=lt, ridge_student=ls)
    s = rows["student"]
    assert abs(s["mean"] - float(wrong["student"])) > Z * s["se"] + s["b"]


# ----------------------------------------------------------------------------- the paper's model
def paper_mixture(problem: Problem, q: int, d_z: int):
    r"""The paper's model (group model "mixture") as a Gaussian group mixture.

    Given :math:`\xi`, :math:`(z\otimes w, z\otimes\psi)` is Gaussian with mean 0 and covariance
    :math:`[[I\otimes ww^\top, I\otimes w\psi^\top], [\cdot, I\otimes\psi\psi^\top]]`, so the
    continuous mixture over :math:`\xi` becomes a finite one over Gauss-Hermite nodes (``q`` per
    axis) of each component :math:`N(g\mu_\xi, \sigma_\xi^2 I)`, :math:`g\in\{0,1\}`, with weights
    :math:`(1-\eta)\omega_j` and :math:`\eta\omega_j`. Label: :math:`y = \langle\beta^*\otimes e_1,
    z\otimes w\rangle + \varepsilon` (the first coordinate of :math:`w` is 1), :math:`c_k = 0`.
    Returns the mixture and ``weights(eta)``.
    """
    p = problem.mu_xi.shape[0]
    x, wq = np.polynomial.hermite_e.hermegauss(q)  # nodes and weights for exp(-x^2/2)
    grid = np.stack(np.meshgrid(*([x] * p), indexing="ij"), -1).reshape(-1, p)
    wgrid = np.prod(np.stack(np.meshgrid(*([wq / wq.sum()] * p), indexing="ij"), -1).reshape(-1, p), axis=1)
    sd = math.sqrt(problem.sigma_xi2)
    xi = np.concatenate([sd * grid, problem.mu_xi + sd * grid])  # g = 0 nodes, then g = 1 nodes
    minority = np.repeat([0.0, 1.0], len(grid))
    W = np.concatenate([np.ones((len(xi), 1)), xi @ problem.T], 1)
    Psi = np.concatenate([np.ones((len(xi), 1)), xi @ problem.S], 1)
    eye = np.eye(d_z)
    K = len(xi)
    beta = np.zeros(d_z)
    beta[0] = math.sqrt(problem.signal)  # only ||beta*|| matters (rotation invariance in z)
    mixture = A.GroupMixture(
        np.zeros((K, d_z * W.shape[1])),
        np.zeros((K, d_z * Psi.shape[1])),
        np.stack([np.kron(eye, np.outer(w, w)) for w in W]),
        np.stack([np.kron(eye, np.outer(s, s)) for s in Psi]),
        np.stack([np.kron(eye, np.outer(w, s)) for w, s in zip(W, Psi, strict=True)]),
        np.zeros(K),
        label_loading=np.tile(np.kron(beta, np.eye(W.shape[1])[0]), (K, 1)),
        label_noise=np.full(K, problem.sigma_y2),
    )
    return mixture, lambda eta: np.concatenate([wgrid, wgrid]) * np.where(minority == 1, eta, 1 - eta)


def paper_gap(problem: Problem, q: int, d_z: int = 2):
    """Relative differences (teacher, student) between the mixture theory on the quadrature
    mixture and the exact theory (:func:`asymptotics.teacher_risk_exact`, excess risks)."""
    mixture, weights = paper_mixture(problem, q, d_z)
    N = math.inf if problem.nu == 0 else d_z / problem.nu
    r = A.mixture_risks(
        mixture, weights(problem.eta_l), weights(problem.eta_u), weights(problem.eta_t), n=d_z / problem.gamma,
        N=N, ridge_teacher=problem.ridge_teacher, ridge_student=problem.ridge_student,
    )  # fmt: skip
    t, s = float(A.teacher_risk_exact(problem)), float(A.student_risk_exact(problem))
    return abs(float(r["teacher_noise_free"]) / t - 1), abs(float(r["student_noise_free"]) / s - 1)


def _paper_problem(**kw):
    return Problem.from_scalars(
        p_T=2, p_S=2, similarity=0.5, mu_T2=2.0, mu_S2=1.0, eta_l=0.2, eta_u=0.6, eta_t=0.5, sigma_y2=0.5,
        signal=1.5, **kw,
    )  # fmt: skip


def test_reduces_to_the_exact_theory_on_the_papers_model():
    """Ridge teacher and student at finite nu: the quadrature mixture reproduces the exact theory
    (which integrates over xi exactly) to the quadrature error, which falls with the nodes."""
    pr = _paper_problem(gamma=0.2, nu=0.3, ridge_teacher=0.1, ridge_student=0.1)
    assert max(paper_gap(pr, 10)) < 1e-4  # the quadrature error at 10 nodes per axis is about 3e-5


@pytest.mark.slow
@pytest.mark.parametrize(
    "kw",
    [
        dict(gamma=0.2, nu=0.3, ridge_teacher=0.1, ridge_student=0.1),
        dict(gamma=0.3, nu=0.0, ridge_teacher=0.0, ridge_student=0.0),  # min-norm under, N = inf
        dict(gamma=1.0, nu=0.2, ridge_teacher=0.05, ridge_student=0.0),  # over-parameterised ridge teacher
        dict(gamma=0.2, nu=0.8, ridge_teacher=0.0, ridge_student=0.0),  # min-norm over-parameterised student
        dict(gamma=0.2, nu=0.8, ridge_teacher=0.0, ridge_student=0.05),
    ],
)
def test_reduces_to_the_exact_theory_in_every_regime(kw):
    """Ridgeless and over-parameterised integrands are less smooth in xi, so the rule needs more
    nodes (the over-parameterised teacher's gap falls only algebraically: about 3e-2, 8e-3, 4e-3,
    9e-4 at 8, 14, 20, 28 nodes per axis); the gap still falls to the quadrature error."""
    pr = _paper_problem(**kw)
    coarse, fine = paper_gap(pr, 8), paper_gap(pr, 28)
    assert max(fine) < 2e-3, fine
    assert all(f < c / 3 for f, c in zip(fine, coarse, strict=True)), (coarse, fine)


# ----------------------------------------------------------------------------- exact limits
def _o3(Sigma, beta, sigma2, n, lam):
    """O3 (docs/theory.md): ridge with x ~ N(0, Sigma), y = x^T beta + eps; kappa by bisection."""
    ev, V = np.linalg.eigh(Sigma)
    bb = (V.T @ beta) ** 2
    lo, hi = 1e-12, 1e6
    for _ in range(200):
        k = math.sqrt(lo * hi)
        if k * (1 - np.sum(ev / (ev + k)) / n) > lam:
            hi = k
        else:
            lo = k
    df2 = np.sum(ev**2 / (ev + k) ** 2)
    return (k**2 * np.sum(bb * ev / (ev + k) ** 2) + sigma2 * df2 / n) / (1 - df2 / n)


@pytest.mark.parametrize("n, lam", [(120.0, 0.3), (15.0, 0.05)])
def test_single_centred_gaussian_is_O3(n, lam):
    """One centred group (the others have weight 0): the teacher's excess risk is the
    general-covariance ridge formula O3, under- and over-parameterised."""
    rng = np.random.default_rng(3)
    spec = random_spec(rng, 4, 25, 25, intercept=False)  # the default tests' shapes: no new compile
    spec["means_weak"][0] = 0.0
    spec["means_strong"][0] = 0.0
    spec["label_mean"][0] = 0.0
    one = np.array([1.0, 0.0, 0.0, 0.0])
    r = A.mixture_risks(A.GroupMixture(**spec), one, one, one, n=n, N=math.inf, ridge_teacher=lam, ridge_student=0.0)
    o3 = _o3(spec["cov_weak"][0], spec["label_loading"][0], spec["label_noise"][0], n, lam)
    assert np.isclose(float(r["teacher_noise_free"]), o3, rtol=1e-9)


@pytest.mark.parametrize("n, N", [(40.0, 200.0), (40.0, math.inf), (15.0, 80.0)])
def test_student_on_the_teachers_own_features_copies_it(n, N):
    """x_s = x_w and a ridgeless student with N above the rank: it interpolates the noise-free
    pseudolabels exactly, so its risk is the teacher's (at every eta_u)."""
    rng = np.random.default_rng(4)
    s = random_spec(rng, 4, 24, 24)
    s.update(means_strong=s["means_weak"], cov_strong=s["cov_weak"], cov_cross=s["cov_weak"])
    wl, wu, wt = _weights(rng, 4)
    r = A.mixture_risks(A.GroupMixture(**s), wl, wu, wt, n=n, N=N, ridge_teacher=0.0, ridge_student=0.0)
    assert np.isclose(float(r["student"]), float(r["teacher"]), rtol=1e-9)


def test_population_teacher_and_student():
    """n, N -> infinity: the teacher is the population ridge fit and the student its population
    projection, both computed here directly."""
    rng = np.random.default_rng(5)
    spec = random_spec(rng, 4, 24, 24)
    wl, wu, wt = _weights(rng, 4)
    lt, ls = 0.2, 0.1
    r = A.mixture_risks(A.GroupMixture(**spec), wl, wu, wt, n=1e13, N=math.inf, ridge_teacher=lt, ridge_student=ls)
    mw, ms, c, a = spec["means_weak"], spec["means_strong"], spec["label_mean"], spec["label_loading"]
    Rw = np.einsum("k,kij->ij", wl, spec["cov_weak"] + mw[:, :, None] * mw[:, None, :])
    bw = np.einsum("k,ki->i", wl, mw * c[:, None] + np.einsum("kij,kj->ki", spec["cov_weak"], a))
    theta_T = np.linalg.solve(Rw + lt * np.eye(len(Rw)), bw)
    Rs = np.einsum("k,kij->ij", wu, spec["cov_strong"] + ms[:, :, None] * ms[:, None, :])
    Sx = np.einsum("k,kji->ij", wu, spec["cov_cross"] + mw[:, :, None] * ms[:, None, :])
    theta_S = np.linalg.solve(Rs + ls * np.eye(len(Rs)), Sx @ theta_T)
    mc = MonteCarlo(spec)
    assert np.isclose(float(r["teacher"]), mc.risk(theta_T, "weak", wt), rtol=1e-9)
    assert np.isclose(float(r["student"]), mc.risk(theta_S, "strong", wt), rtol=1e-9)


def test_interpolation_threshold_is_infinite():
    rng = np.random.default_rng(6)
    spec = random_spec(rng, 4, 24, 24)  # rank 25 with the intercept
    w = (np.full(4, 0.25),) * 3
    r = A.mixture_risks(A.GroupMixture(**spec), *w, n=25.0, N=math.inf, ridge_teacher=0.0, ridge_student=0.0)
    assert np.isinf(float(r["teacher"])) and np.isinf(float(r["student"]))


# ----------------------------------------------------------------------------- transformations
def _curve(seed):
    rng = np.random.default_rng(seed)
    mixture = A.GroupMixture(**random_spec(rng, 4, 24, 24))
    wl, _, wt = _weights(rng, 4)

    def curve(eta):
        wu = jnp.stack([(1 - eta) / 2, eta / 2, (1 - eta) / 2, eta / 2])
        return A.mixture_risks(mixture, wl, wu, wt, n=60.0, N=100.0, ridge_teacher=0.0, ridge_student=0.1)["gain"]

    return curve


def test_vmap_over_weights_u_under_jit():
    curve = _curve(7)
    etas = jnp.linspace(0.0, 1.0, 5)
    vm = jax.jit(jax.vmap(curve))(etas)
    loop = jnp.stack([curve(e) for e in etas])
    assert np.allclose(vm, loop, rtol=1e-10, atol=0)


@pytest.mark.slow
def test_gradient_matches_central_differences():
    curve = _curve(7)
    h = 1e-5
    fd = (curve(jnp.asarray(0.3 + h)) - curve(jnp.asarray(0.3 - h))) / (2 * h)
    assert np.isclose(jax.grad(curve)(jnp.asarray(0.3)), fd, rtol=1e-6)


# ----------------------------------------------------------------------------- bad input
def _bad(spec, **changes):
    out = dict(spec)
    out.update(changes)
    return out


def test_bad_mixtures_raise_one_line_errors():
    rng = np.random.default_rng(8)
    s = random_spec(rng, 2, 4, 3, intercept=False)
    asym = s["cov_weak"].copy()
    asym[0, 0, 1] += 0.5
    neg = s["cov_strong"].copy()
    neg[1] -= 5.0 * np.eye(3)
    cases = [
        (_bad(s, cov_weak=asym), "cov_weak: must be symmetric"),
        (_bad(s, cov_strong=neg), "positive semi-definite"),
        (_bad(s, cov_cross=10.0 * s["cov_cross"] + 10.0), "positive semi-definite"),
        (_bad(s, means_strong=s["means_strong"][:, :2]), "cov_strong: must have shape (2, 2, 2)"),
        (_bad(s, cov_cross=s["cov_cross"][:, :, :2]), "cov_cross: must have shape (2, 4, 3)"),
        (_bad(s, label_mean=np.ones(3)), "label_mean: must have shape (2,)"),
        (_bad(s, label_noise=-np.ones(2)), "label_noise: must be >= 0"),
        (_bad(s, means_weak=np.full((2, 4), np.nan)), "means_weak: must be finite"),
        (_bad(s, cov_weak=s["cov_weak"][0]), "cov_weak: must have 3 dimensions"),
    ]
    for spec, message in cases:
        with pytest.raises(A.MixtureError) as e:
            A.GroupMixture(**spec)
        assert message in str(e.value) and "\n" not in str(e.value), (message, str(e.value))


def test_bad_risk_arguments_raise_one_line_errors():
    rng = np.random.default_rng(9)
    mixture = A.GroupMixture(**random_spec(rng, 2, 4, 3))
    ok = dict(n=10.0, N=20.0, ridge_teacher=0.0, ridge_student=0.0)
    w = np.array([0.5, 0.5])
    cases = [
        ((np.array([0.5, 0.6]), w, w), ok, "weights_l: weights must sum to one"),
        ((w, np.array([1.5, -0.5]), w), ok, "weights_u: weights must be finite and non-negative"),
        ((w, w, np.array([1.0])), ok, "weights_t: must have shape (2,)"),
        ((w, w, w), dict(ok, n=0.0), "n: must be > 0"),
        ((w, w, w), dict(ok, N=-1.0), "N: must be > 0"),
        ((w, w, w), dict(ok, ridge_student=-0.1), "ridge_student: must be >= 0"),
    ]
    for weights, kw, message in cases:
        with pytest.raises(A.MixtureError) as e:
            A.mixture_risks(mixture, *weights, **kw)
        assert message in str(e.value) and "\n" not in str(e.value), (message, str(e.value))
    assert issubclass(A.MixtureError, ValueError)
