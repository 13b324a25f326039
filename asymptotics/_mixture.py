r"""Deterministic equivalents of W2S ridge risks on general Gaussian group mixtures.

A :class:`GroupMixture` has :math:`K` groups. Under :math:`D(\pi)` group :math:`k` is drawn with
probability :math:`\pi_k`; given it, the weak and the strong feature vectors are jointly Gaussian,

.. math:: (x_w, x_s)\mid k\sim N\Big((m_{wk}, m_{sk}),\ \begin{bmatrix}C_{wk} & C_{wsk}\\ C_{wsk}^\top & C_{sk}
          \end{bmatrix}\Big),\qquad y = c_k + a_k^\top(x_w - m_{wk}) + \varepsilon,\quad
          \varepsilon\sim N(0, s_k^2).

The teacher is ridge (:math:`\lambda_T`, min-norm at 0) of :math:`y` on :math:`x_w` over :math:`n`
samples of :math:`D(\pi^l)`; the student is ridge (:math:`\lambda_S`) of the teacher's predictions
:math:`\theta_T^\top x_w` on :math:`x_s` over :math:`N` fresh samples of :math:`D(\pi^u)`
(:math:`N=\infty`: the population fit). Risks are on :math:`D(\pi^t)`. In the proportional limit
(:math:`d, n, N\to\infty` at fixed ratios, :math:`K` fixed) each fit is described by one
:math:`K`-vector :math:`\tilde\delta` solving

.. math:: \tilde\delta_k = \tfrac1n\mathrm{tr}(R_k\tilde Q),\qquad
          \tilde Q = \Big(\sum_k\frac{\pi_kR_k}{s+\tilde\delta_k} + cI\Big)^{-1},\qquad
          R_k = C_k + m_km_k^\top,

with :math:`(s, c) = (1, \lambda)` when the design's rank is below :math:`n` and
:math:`(\lambda, 1)` above it (the min-norm limit). The fit is then a deterministic vector
:math:`\bar\theta = \tilde Q\sum_k\pi_kb_k/(s+\tilde\delta_k)` (:math:`b_k = E_k[xy]`) plus an error
of covariance :math:`\Sigma_\theta = \frac1n\sum_k\nu_k\tilde QR_k\tilde Q`,
:math:`\nu = (I - \mathcal M)^{-\top}g`, :math:`g_k = \pi_k e_k/(s+\tilde\delta_k)^2`,
:math:`e_k = E_k(y - x^\top\bar\theta)^2`, :math:`\mathcal M_{kj} = \frac1n\mathrm{tr}(R_k\tilde QR_j\tilde Q)
\pi_j/(s+\tilde\delta_j)^2`. The student composes this with the teacher's second moment
:math:`E\theta_T\theta_T^\top`. The derivation is in docs/theory.md, "General Gaussian group
mixtures".
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._fixed_point import checked

__all__ = ["GroupMixture", "MixtureError", "mixture_risks"]

# A direction of the pooled second moment sum_k R_k below RANK_RTOL times its largest eigenvalue
# carries no data (x has no component there almost surely); it is dropped.
RANK_RTOL = 1e-10
SYM_TOL = 1e-8  # relative asymmetry allowed in a covariance
PSD_TOL = 1e-8  # relative negative eigenvalue allowed in a joint covariance
WEIGHT_TOL = 1e-9
THRESHOLD_TOL = 1e-12
MAX_ITER = 100
TOL = 1e-13


try:  # public in jax 0.10; fall back to the private path should it move
    from jax.core import Tracer as _Tracer
except ImportError:  # pragma: no cover
    from jax._src.core import Tracer as _Tracer


class MixtureError(ValueError):
    """Invalid group mixture or risk arguments; the message names the argument and the rule."""


def _concrete(*xs) -> bool:
    return not any(isinstance(x, _Tracer) for x in jax.tree_util.tree_leaves(xs))


class _View(NamedTuple):
    """One view's moments in an orthonormal basis of the span of its data (``r`` = rank)."""

    R: jnp.ndarray  # (K, r, r) E_k x x^T
    b: jnp.ndarray  # (K, r) E_k x y


class _Prepared(NamedTuple):
    weak: _View
    strong: _View
    S: jnp.ndarray  # (K, r_w, r_s) E_k x_w x_s^T
    y2: jnp.ndarray  # (K,) E_k y^2
    noise: jnp.ndarray  # (K,) s_k^2


def _basis(R, reduce: bool):
    """Orthonormal basis of the range of sum_k R_k (all of it when ``reduce`` is False)."""
    ev, U = jnp.linalg.eigh(jnp.sum(R, axis=0))
    if not reduce:
        return U
    ev, U = np.asarray(ev), np.asarray(U)
    keep = ev > RANK_RTOL * max(ev[-1], 0.0)
    return jnp.asarray(U[:, keep])


def _prepare(mx: GroupMixture, reduce: bool) -> _Prepared:
    mw, ms = mx.means_weak, mx.means_strong
    Rw = mx.cov_weak + mw[:, :, None] * mw[:, None, :]
    Rs = mx.cov_strong + ms[:, :, None] * ms[:, None, :]
    S = mx.cov_cross + mw[:, :, None] * ms[:, None, :]
    a, c = mx.label_loading, mx.label_mean
    bw = mw * c[:, None] + jnp.einsum("kij,kj->ki", mx.cov_weak, a)
    bs = ms * c[:, None] + jnp.einsum("kij,ki->kj", mx.cov_cross, a)  # Cov(x_s, x_w) a
    y2 = c**2 + jnp.einsum("ki,kij,kj->k", a, mx.cov_weak, a) + mx.label_noise
    Uw, Us = _basis(Rw, reduce), _basis(Rs, reduce)
    rot = lambda U, M: jnp.einsum("ia,kij,jb->kab", U, M, U)  # noqa: E731
    weak = _View(rot(Uw, Rw), bw @ Uw)
    strong = _View(rot(Us, Rs), bs @ Us)
    return _Prepared(weak, strong, jnp.einsum("ia,kij,jb->kab", Uw, S, Us), y2, mx.label_noise)


class GroupMixture(eqx.Module):
    r"""A Gaussian mixture of :math:`K` groups over (weak features, strong features, label).

    Group :math:`k`: :math:`(x_w, x_s)\sim N((m_{wk}, m_{sk}), [[C_{wk}, C_{wsk}], [C_{wsk}^\top,
    C_{sk}]])`, label :math:`y = c_k + a_k^\top(x_w - m_{wk}) + \varepsilon`,
    :math:`\varepsilon\sim N(0, s_k^2)` independent of the features.

    Args:
        means_weak: :math:`m_{wk}`, ``(K, d_w)``.
        means_strong: :math:`m_{sk}`, ``(K, d_s)``.
        cov_weak: :math:`C_{wk}`, ``(K, d_w, d_w)``.
        cov_strong: :math:`C_{sk}`, ``(K, d_s, d_s)``.
        cov_cross: :math:`C_{wsk} = \mathrm{Cov}_k(x_w, x_s)`, ``(K, d_w, d_s)``.
        label_mean: :math:`c_k`, ``(K,)`` (e.g. :math:`\pm1`).
        label_loading: :math:`a_k`, ``(K, d_w)``, default 0.
        label_noise: :math:`s_k^2\ge0`, ``(K,)``, default 0.

    Each group's joint covariance must be symmetric positive semi-definite; singular ones are
    allowed. In particular a coordinate with variance 0 and mean 1 in every group is an intercept:
    the theory works with second moments :math:`R_k = C_k + m_km_k^\top`, in which that direction
    is an ordinary one, and counts it in the design's rank. Construction (with concrete arrays)
    validates everything, raising :class:`MixtureError`, and precomputes each view's second
    moments in an orthonormal basis of the span of its data (one eigendecomposition per view), so
    that :func:`mixture_risks` does no work per mixture on later calls.
    """

    means_weak: jax.Array
    means_strong: jax.Array
    cov_weak: jax.Array
    cov_strong: jax.Array
    cov_cross: jax.Array
    label_mean: jax.Array
    label_loading: jax.Array
    label_noise: jax.Array
    prepared: Any

    def __init__(
        self,
        means_weak,
        means_strong,
        cov_weak,
        cov_strong,
        cov_cross,
        label_mean,
        label_loading=None,
        label_noise=None,
    ):
        concrete = _concrete(means_weak, means_strong, cov_weak, cov_strong, cov_cross, label_mean)
        concrete = concrete and _concrete(label_loading, label_noise)
        f = lambda v: jnp.asarray(v, dtype=jnp.float64)  # noqa: E731
        if concrete:
            _validate(means_weak, means_strong, cov_weak, cov_strong, cov_cross, label_mean, label_loading, label_noise)
        self.means_weak, self.means_strong = f(means_weak), f(means_strong)
        self.cov_weak, self.cov_strong, self.cov_cross = f(cov_weak), f(cov_strong), f(cov_cross)
        self.label_mean = f(label_mean)
        K, dw = self.means_weak.shape
        self.label_loading = jnp.zeros((K, dw)) if label_loading is None else f(label_loading)
        self.label_noise = jnp.zeros((K,)) if label_noise is None else f(label_noise)
        self.prepared = _prepare(self, reduce=concrete)

    @property
    def n_groups(self) -> int:
        return self.means_weak.shape[0]

    @property
    def rank_weak(self) -> int:
        """Dimension of the span of the weak features' data (the teacher's effective d)."""
        return self.prepared.weak.R.shape[1]

    @property
    def rank_strong(self) -> int:
        """Dimension of the span of the strong features' data (the student's effective d)."""
        return self.prepared.strong.R.shape[1]


def _array(name: str, value, ndim: int) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise MixtureError(f"{name}: must be a numeric array, got {type(value).__name__}") from None
    if a.ndim != ndim:
        raise MixtureError(f"{name}: must have {ndim} dimensions, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise MixtureError(f"{name}: must be finite")
    return a


def _validate(means_weak, means_strong, cov_weak, cov_strong, cov_cross, label_mean, label_loading, label_noise):
    mw = _array("means_weak", means_weak, 2)
    K, dw = mw.shape
    if K < 1 or dw < 1:
        raise MixtureError(f"means_weak: must have shape (K, d_w) with K, d_w >= 1, got {mw.shape}")
    ms = _array("means_strong", means_strong, 2)
    ds = ms.shape[1]
    expected = {
        "means_strong": (ms, (K, ds)),
        "cov_weak": (_array("cov_weak", cov_weak, 3), (K, dw, dw)),
        "cov_strong": (_array("cov_strong", cov_strong, 3), (K, ds, ds)),
        "cov_cross": (_array("cov_cross", cov_cross, 3), (K, dw, ds)),
        "label_mean": (_array("label_mean", label_mean, 1), (K,)),
    }
    if label_loading is not None:
        expected["label_loading"] = (_array("label_loading", label_loading, 2), (K, dw))
    if label_noise is not None:
        expected["label_noise"] = (_array("label_noise", label_noise, 1), (K,))
    for name, (a, shape) in expected.items():
        if a.shape != shape or (name == "means_strong" and ds < 1):
            raise MixtureError(f"{name}: must have shape {shape} (K = {K}, d_w = {dw} from means_weak), got {a.shape}")
    Cw, Cs, Cx = (expected[k][0] for k in ("cov_weak", "cov_strong", "cov_cross"))
    for name, C in (("cov_weak", Cw), ("cov_strong", Cs)):
        scale = max(np.max(np.abs(C)), 1e-300)
        asym = np.max(np.abs(C - np.swapaxes(C, 1, 2))) / scale
        if asym > SYM_TOL:
            raise MixtureError(f"{name}: must be symmetric (max relative |C - C^T| = {asym:.3g} > {SYM_TOL:g})")
    joint = np.concatenate([np.concatenate([Cw, Cx], 2), np.concatenate([np.swapaxes(Cx, 1, 2), Cs], 2)], 1)
    joint = 0.5 * (joint + np.swapaxes(joint, 1, 2))
    ev = np.linalg.eigvalsh(joint)
    worst = ev[:, 0] / np.maximum(ev[:, -1], 1e-300)
    if np.any(worst < -PSD_TOL):
        k = int(np.argmin(worst))
        raise MixtureError(
            f"cov_weak, cov_strong, cov_cross: each group's joint covariance must be positive semi-definite "
            f"(group {k} has relative eigenvalue {worst[k]:.3g} < -{PSD_TOL:g})"
        )
    if label_noise is not None and np.any(expected["label_noise"][0] < 0):
        raise MixtureError("label_noise: must be >= 0 (a variance)")


def _check_weights(name: str, w, K: int):
    if not _concrete(w):
        return jnp.asarray(w, dtype=jnp.float64)
    a = np.asarray(w, dtype=float)
    if a.shape != (K,):
        raise MixtureError(f"{name}: must have shape ({K},) (one weight per group), got {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise MixtureError(f"{name}: weights must be finite and non-negative, got {a.tolist()}")
    if abs(a.sum() - 1.0) > WEIGHT_TOL:
        raise MixtureError(f"{name}: weights must sum to one, got sum {a.sum():.12g}")
    return jnp.asarray(w, dtype=jnp.float64)


def _check_scalar(name: str, v, *, positive: bool, allow_inf: bool = False):
    if not _concrete(v):
        return
    x = float(v)
    if math.isnan(x) or (math.isinf(x) and not (allow_inf and x > 0)):
        raise MixtureError(f"{name}: must be finite{' or math.inf' if allow_inf else ''}, got {v!r}")
    if (positive and x <= 0) or x < 0:
        raise MixtureError(f"{name}: must be {'> 0' if positive else '>= 0'}, got {v!r}")


# ----------------------------------------------------------------------------- the fixed point
def _inverse(R, w, s, c, delta):
    """Q~ = (sum_k w_k R_k / (s + delta_k) + c I)^{-1} by Cholesky, symmetrised."""
    r = R.shape[1]
    A = jnp.einsum("k,kij->ij", w / (s + delta), R) + c * jnp.eye(r)
    L = jnp.linalg.cholesky(A)
    Li = jax.scipy.linalg.solve_triangular(L, jnp.eye(r), lower=True)
    return Li.T @ Li


def _map(R, w, inv_n, s, c, delta):
    Q = _inverse(R, w, s, c, delta)
    return inv_n * jnp.einsum("kij,ij->k", R, Q)


def _newton(R, w, inv_n, s, c, over):
    """Solve delta = inv_n tr(R_k Q~(delta)); returns (delta, relative residual).

    Newton's method with the exact Jacobian I - M, which costs K products Q~ R_k per step. For
    large views and few groups (r >= 64, K <= 16) only the first Jacobian is exact and Broyden's
    rank-one updates follow: a step then costs one factorisation (Q~ and the traces
    tr(R_k Q~) = <R_k, Q~>), about a third of an exact one, and converges superlinearly."""
    K, r = R.shape[0], R.shape[1]
    broyden = r >= 64 and K <= 16  # static: the shapes decide
    trR = jnp.einsum("kii->k", R)
    # Under-parameterised (s = 1): start from 0, a sub-solution (the map is increasing and
    # t(0) >= 0). Over-parameterised (c = 1): start from inv_n tr R_k, a super-solution
    # (Q~ <= I), which keeps clear of the spurious root delta = 0 at s = 0 (docs/theory.md, E.9).
    d0 = jnp.where(over > 0, inv_n * trR, jnp.zeros(K))

    def exact(d):
        Q = _inverse(R, w, s, c, d)
        QR = jnp.einsum("ij,kjl->kil", Q, R)  # Q~ R_k
        t = inv_n * jnp.einsum("kii->k", QR)
        M = inv_n * jnp.einsum("kab,jba->kj", QR, QR) * (w / (s + d) ** 2)[None, :]
        return t, jnp.eye(K) - M

    def rel(F, d):
        return jnp.max(jnp.abs(F)) / jnp.maximum(jnp.max(jnp.abs(d)), 1e-300)

    def step(state):
        d, t, J, _, it = state
        F = d - t
        newton = d - jnp.linalg.solve(J, F)
        # Newton's step where it stays in the domain (delta >= 0); else the monotone step
        # delta <- t(delta), which moves towards the root from either side and stays in it.
        ok = jnp.all(newton >= 0) & jnp.all(jnp.isfinite(newton))
        d_new = jnp.where(ok, newton, t)
        if broyden:
            t_new = _map(R, w, inv_n, s, c, d_new)
            dd = d_new - d
            nn = dd @ dd
            update = jnp.outer((d_new - t_new) - F - J @ dd, dd) / jnp.where(nn > 0, nn, 1.0)
            J_new = J + jnp.where(nn > 0, update, 0.0)
        else:
            t_new, J_new = exact(d_new)
        return d_new, t_new, J_new, rel(d_new - t_new, d_new), it + 1

    def cond(state):
        _, _, _, err, it = state
        return (err > TOL) & (it < MAX_ITER)

    t0, J0 = exact(d0)
    d, _, _, err, _ = jax.lax.while_loop(cond, step, (d0, t0, J0, rel(d0 - t0, d0), 0))
    return d, jnp.where(inv_n == 0, 0.0, err)


@jax.custom_jvp
def _root(R, w, inv_n, s, c, over):
    return _newton(R, w, inv_n, s, c, over)


@_root.defjvp
def _root_jvp(primals, tangents):
    # implicit function theorem on delta = f(delta; params): d delta = (I - df/d delta)^{-1} f_params[d params]
    d, err = _root(*primals)
    R, w, inv_n, s, c, _ = primals
    _, df = jax.jvp(lambda *p: _map(*p, d), primals[:5], tangents[:5])
    J = jax.jacfwd(lambda x: x - _map(R, w, inv_n, s, c, x))(d)
    return (d, err), (jnp.linalg.solve(J, df), jnp.zeros_like(err))


class _Fit(NamedTuple):
    """A solved side: Q~, the weights omega_k = pi_k / (s + delta_k), M and the convergence flag."""

    Q: jnp.ndarray
    omega: jnp.ndarray
    sd: jnp.ndarray  # s + delta
    QR: jnp.ndarray  # (K, r, r) Q~ R_k
    IM: jnp.ndarray  # I - M
    inv_n: jnp.ndarray
    threshold: jnp.ndarray
    converged: jnp.ndarray


def _solve(view: _View, w, n, ridge) -> _Fit:
    R = view.R
    r = R.shape[1]
    n = jnp.asarray(n, dtype=jnp.float64)
    ridge = jnp.asarray(ridge, dtype=jnp.float64)
    inv_n = jnp.where(jnp.isinf(n), 0.0, 1.0 / n)
    under = r * inv_n < 1.0
    threshold = (jnp.abs(r * inv_n - 1.0) <= THRESHOLD_TOL) & (ridge == 0)
    lam = jnp.where(threshold, 1.0, ridge)
    s = jnp.where(under, 1.0, lam)
    c = jnp.where(under, lam, 1.0)
    d, err = _root(R, w, inv_n, s, c, jnp.where(under, 0.0, 1.0))  # over: a float flag
    Q = _inverse(R, w, s, c, d)
    QR = jnp.einsum("ij,kjl->kil", Q, R)
    sd = s + d
    M = inv_n * jnp.einsum("kab,jba->kj", QR, QR) * (w / sd**2)[None, :]
    K = R.shape[0]
    return _Fit(Q, w / sd, sd, QR, jnp.eye(K) - M, inv_n, threshold, jnp.isfinite(err) & (err <= 1e-10))


def _sigma_weights(fit: _Fit, w, e):
    r""":math:`\nu = (I - \mathcal M)^{-\top} g`, :math:`g_k = \pi_k e_k/(s+\tilde\delta_k)^2`; the fit's
    error covariance is :math:`\frac1n\sum_k\nu_k\tilde QR_k\tilde Q`."""
    return jnp.linalg.solve(fit.IM.T, w * e / fit.sd**2)


# ----------------------------------------------------------------------------- the risks
def _teacher(prep: _Prepared, wl, n, ridge):
    """Teacher's mean, second moment E theta theta^T, and fit."""
    v = prep.weak
    fit = _solve(v, wl, n, ridge)
    theta = fit.Q @ (fit.omega @ v.b)
    e = prep.y2 - 2 * v.b @ theta + jnp.einsum("i,kij,j->k", theta, v.R, theta)
    nu = _sigma_weights(fit, wl, e)
    Sigma = fit.inv_n * jnp.einsum("k,kij->ij", nu, fit.QR) @ fit.Q
    Sigma = 0.5 * (Sigma + Sigma.T)
    return theta, jnp.outer(theta, theta) + Sigma, fit


def _student(prep: _Prepared, theta, Psi, wu, wt, N, ridge):
    v = prep.strong
    fit = _solve(v, wu, N, ridge)
    P = jnp.einsum("k,kab->ab", fit.omega, prep.S) @ fit.Q  # (r_w, r_s): E theta_S = P^T theta_T
    Rt = jnp.einsum("k,kij->ij", wt, v.R)
    bt = wt @ v.b
    Omega = P.T @ Psi @ P
    # E over the student's sample: h_k = pi^u_k D_k / (s + delta_k)^2, D = (I - M)^{-1} a, a_k = tr(R_k Q R^t Q)/N
    a = fit.inv_n * jnp.einsum("kab,ba->k", fit.QR, fit.Q @ Rt)
    h = wu * jnp.linalg.solve(fit.IM, a) / fit.sd**2
    PsiS = jnp.einsum("ij,kjl->kil", Psi, prep.S)  # Psi S_k
    G = (
        jnp.einsum("ij,kij->k", Psi, prep.weak.R)
        - 2 * jnp.einsum("ab,kab->k", P, PsiS)
        + jnp.einsum("ab,kab->k", Omega, v.R)
    )  # <Psi, G_k>, G_k = E_k (x_w - P x_s)(x_w - P x_s)^T
    risk = wt @ prep.y2 - 2 * theta @ P @ bt + jnp.sum(Omega * Rt) + h @ G
    return risk, fit


def mixture_risks(mixture: GroupMixture, weights_l, weights_u, weights_t, *, n, N, ridge_teacher, ridge_student):
    r"""Proportional-limit teacher and student risks of W2S ridge on a Gaussian group mixture.

    Args:
        mixture: the groups (:class:`GroupMixture`).
        weights_l, weights_u, weights_t: group probabilities ``(K,)`` of the labeled, the
            pseudolabeled and the test distribution (non-negative, summing to one).
        n: labeled sample size (> 0).
        N: pseudolabeled sample size (> 0), or ``math.inf`` for the population fit.
        ridge_teacher, ridge_student: ridges :math:`\lambda_T, \lambda_S\ge0` on the mean squared
            error (0: the min-norm least-squares fit, under- or over-parameterised).

    Returns:
        A dict of JAX scalars:

        * ``"teacher"``: :math:`E(\theta_T^\top x_w - y)^2` on :math:`D(\pi^t)`, the label noise included;
        * ``"student"``: :math:`E(\theta_S^\top x_s - y)^2`, likewise;
        * ``"gain"``: teacher minus student; ``"relative_gain"``: gain over teacher;
        * ``"teacher_noise_free"``, ``"student_noise_free"``: the same against the noise-free
          label :math:`c_k + a_k^\top(x_w - m_{wk})` (the above minus :math:`\sum_k\pi^t_ks_k^2`).

    The regime of each fit follows the rank :math:`r` of its view's data (``mixture.rank_weak``,
    ``mixture.rank_strong``): under-parameterised when :math:`r < n` (:math:`r < N`). At
    :math:`r = n` with a zero ridge the risk is infinite (``inf``). Ridgeless fits assume that every
    group of positive weight spans the view's whole data span (true when the covariances are
    non-singular there); otherwise a ridge is needed. Jittable, differentiable (implicit
    differentiation of the fixed points) and ``vmap``-able over the weights. Raises at run time if
    a fixed point fails to converge. Under ``jax.jit`` pass the mixture as an argument (it is a
    pytree), e.g. ``jax.jit(jax.vmap(f, in_axes=(None, 0)))(mixture, weights_u)``, rather than
    closing over it: closed-over arrays become compile-time constants, with which XLA's CPU code
    ran about 20 times slower here.
    """
    prep = mixture.prepared
    K = mixture.n_groups
    wl = _check_weights("weights_l", weights_l, K)
    wu = _check_weights("weights_u", weights_u, K)
    wt = _check_weights("weights_t", weights_t, K)
    _check_scalar("n", n, positive=True)
    _check_scalar("N", N, positive=True, allow_inf=True)
    _check_scalar("ridge_teacher", ridge_teacher, positive=False)
    _check_scalar("ridge_student", ridge_student, positive=False)
    return _risks(prep, wl, wu, wt, n, N, ridge_teacher, ridge_student)


@jax.jit
def _risks(prep, wl, wu, wt, n, N, ridge_teacher, ridge_student):
    theta, Psi, tfit = _teacher(prep, wl, n, ridge_teacher)
    v = prep.weak
    Rt = jnp.einsum("k,kij->ij", wt, v.R)
    teacher = wt @ prep.y2 - 2 * theta @ (wt @ v.b) + jnp.sum(Psi * Rt)
    student, sfit = _student(prep, theta, Psi, wu, wt, N, ridge_student)
    teacher = jnp.where(tfit.threshold, jnp.inf, teacher)
    student = jnp.where(tfit.threshold | sfit.threshold, jnp.inf, student)
    ok = tfit.converged & sfit.converged
    teacher, student = checked(teacher, ok), checked(student, ok)
    noise = wt @ prep.noise
    gain = teacher - student
    return {
        "teacher": teacher,
        "student": student,
        "gain": gain,
        "relative_gain": gain / teacher,
        "teacher_noise_free": teacher - noise,
        "student_noise_free": student - noise,
    }
