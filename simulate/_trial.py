r"""One Monte-Carlo trial of the teacher/student regressions, and estimates over many.

A trial (the fits of docs/theory.md, section 1) draws :math:`\beta^*` uniformly on the sphere
:math:`\|\beta^*\|^2 =` ``signal``, fits the teacher on ``n = round(d_z/gamma)`` labeled rows
from :math:`D(\eta_l)`, pseudolabels ``N = round(d_z/nu)`` fresh rows from :math:`D(\eta_u)`
with the teacher's real-valued predictions and fits the student on them. With ``nu = 0`` the
student is the population ridge projection of the teacher under :math:`D(\eta_u)`:

.. math:: \Theta_S = \Theta_T C_u (K_u + \lambda_S I)^{-1},\qquad
          C_u = E_u[w\psi^\top],\ K_u = E_u[\psi\psi^\top].

Excess risks are exact given the fitted parameters (no test sample): with
:math:`\Delta = \Theta - \beta^* e_1^\top` and :math:`E\,zz^\top = I`, :math:`z \perp (w, \psi)`,

.. math:: ER_\eta(\Theta) = E_{D(\eta)}\big(z^\top\Delta f\big)^2 = \mathrm{tr}(\Delta M_\eta \Delta^\top),

:math:`M_\eta = E_\eta ww^\top` for the teacher and :math:`K_\eta = E_\eta\psi\psi^\top` for the
student (:mod:`setting.moments`).
"""

from __future__ import annotations

import functools
import os
import sys
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from setting.moments import cross_moment, student_moment, teacher_moment
from setting.problem import Problem, ProblemError
from setting.risks import RISK_NAMES

from ._sampling import Design, chunk_rows, design_bytes, materialise, student_design, teacher_design
from ._solver import DEFAULT_MAXITER, DEFAULT_TOL, SLACK, SolveInfo, ridge_fit

RISK_KEYS = (
    *RISK_NAMES,
    "teacher_risk_g0",
    "teacher_risk_g1",
    "student_risk_g0",
    "student_risk_g1",
)


class SolveError(RuntimeError):
    """A conjugate-gradient solve missed its residual target; the message says which and by how much."""


class Interrupted(KeyboardInterrupt):
    """:func:`estimate` was interrupted (Ctrl-C). ``finished`` of ``requested`` trials had run;
    ``partial`` is the estimate over them (``None`` when fewer than two finished)."""

    def __init__(self, finished: int, requested: int, partial: dict | None):
        super().__init__(f"interrupted after {finished} of {requested} trials")
        self.finished, self.requested, self.partial = finished, requested, partial


class Fit(NamedTuple):
    """The fitted parameters of one trial.

    Attributes:
        beta: :math:`\\beta^*`, shape ``(d_z,)``.
        theta_teacher: :math:`\\Theta_T`, shape ``(d_z, p_T)``.
        theta_student: :math:`\\Theta_S`, shape ``(d_z, p_S)``.
        teacher_info, student_info: :class:`SolveInfo` of the two solves (the ``nu = 0`` student
            is closed-form: 0 iterations, residual 0).
    """

    beta: jax.Array
    theta_teacher: jax.Array
    theta_student: jax.Array
    teacher_info: SolveInfo
    student_info: SolveInfo


class Config(NamedTuple):
    """Static (shape-determining) settings of a trial; see :func:`config`."""

    n: int
    N: int | None
    dual_teacher: bool
    dual_student: bool
    cache_teacher: bool
    cache_student: bool


def _design_bytes(d: int, p: int, n: int) -> int:
    m = chunk_rows(d, n)
    return design_bytes(d, p, (-(-n // m)) * m)


def default_cache_bytes() -> int:
    """A quarter of the default device's memory (GPU ``bytes_limit``, else physical RAM)."""
    limit = None
    try:
        stats = jax.devices()[0].memory_stats()
        limit = stats.get("bytes_limit") if stats else None
    except Exception:  # noqa: BLE001  (backends without memory stats)
        limit = None
    if not limit:
        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(limit) // 4


def _check_solver(tol, maxiter) -> None:
    if isinstance(tol, bool) or not isinstance(tol, (float, int)) or not 0 < tol < 1:
        raise ProblemError(f"tol: must be a number in (0, 1), got {tol!r}")
    if isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)) or maxiter < 1:
        raise ProblemError(f"maxiter: must be an integer >= 1, got {maxiter!r}")


def config(problem: Problem, *, cache_bytes: int | None = None) -> Config:
    """Sizes (``n``, ``N``), solver form (dual iff over-parameterised) and caching of ``problem``.

    A design is cached (generated once, kept in memory) when it fits in ``cache_bytes``
    (default :func:`default_cache_bytes`); otherwise it is regenerated chunk by chunk on
    every pass. Caching changes speed and memory, not the sample (results agree to rounding).
    """
    budget = default_cache_bytes() if cache_bytes is None else int(cache_bytes)
    d, n, N = problem.d_z, problem.n, problem.N
    bytes_T = _design_bytes(d, problem.p_T, n)
    cache_T = bytes_T <= budget
    cache_S = N is not None and _design_bytes(d, problem.p_S, N) <= budget - (bytes_T if cache_T else 0)
    return Config(
        n=n,
        N=N,
        dual_teacher=n < d * problem.p_T,
        dual_student=N is not None and N < d * problem.p_S,
        cache_teacher=cache_T,
        cache_student=bool(cache_S),
    )


def _prepare(design: Design, cache: bool) -> Design:
    return materialise(design) if cache else design


def fit_pure(problem: Problem, key: jax.Array, cfg: Config, tol=DEFAULT_TOL, maxiter=DEFAULT_MAXITER) -> Fit:
    """One trial's fitted parameters; pure, jit- and vmap-able (``cfg`` static; ``tol``, ``maxiter`` may be traced)."""
    k_beta, k_teacher, k_student = jax.random.split(key, 3)
    d = problem.d_z
    g = jax.random.normal(k_beta, (d,), dtype=jnp.float64)
    beta = jnp.sqrt(problem.signal) * g / jnp.linalg.norm(g)

    design = _prepare(teacher_design(problem, beta, cfg.n, key=k_teacher), cfg.cache_teacher)
    theta_T, info_T = ridge_fit(design, problem.ridge_teacher, dual=cfg.dual_teacher, tol=tol, maxiter=maxiter)
    if cfg.N is None:
        K = student_moment(problem, problem.eta_u)
        C = cross_moment(problem, problem.eta_u)
        theta_S = jnp.linalg.solve(K + problem.ridge_student * jnp.eye(problem.p_S), (theta_T @ C).T).T
        info_S = SolveInfo(jnp.asarray(0), jnp.asarray(0.0), jnp.asarray(True))
    else:
        design = _prepare(student_design(problem, theta_T, cfg.N, key=k_student), cfg.cache_student)
        theta_S, info_S = ridge_fit(design, problem.ridge_student, dual=cfg.dual_student, tol=tol, maxiter=maxiter)
    return Fit(beta, theta_T, theta_S, info_T, info_S)


def excess_risk(theta: jax.Array, beta: jax.Array, moment: jax.Array) -> jax.Array:
    r""":math:`\mathrm{tr}(\Delta M \Delta^\top)` with :math:`\Delta = \Theta - \beta^* e_1^\top`.

    ``theta`` (d, p), ``beta`` (d,), ``moment`` (p, p); returns a scalar."""
    delta = theta.at[:, 0].add(-beta)
    return jnp.sum((delta.T @ delta) * moment)


@jax.jit
def fit_risks(problem: Problem, fit: Fit) -> dict[str, jax.Array]:
    """The exact excess risks of a fit on D(eta_t) and on each group (eta = 0, 1), and the gain (jitted)."""
    out = {}
    for role, theta, moment in (
        ("teacher", fit.theta_teacher, teacher_moment),
        ("student", fit.theta_student, student_moment),
    ):
        out[f"{role}_risk"] = excess_risk(theta, fit.beta, moment(problem, problem.eta_t))
        for g in (0, 1):
            out[f"{role}_risk_g{g}"] = excess_risk(theta, fit.beta, moment(problem, float(g)))
    out["gain"] = out["teacher_risk"] - out["student_risk"]
    return {k: out[k] for k in RISK_KEYS}


@functools.partial(jax.jit, static_argnames="cfg")
def trial_program(problem: Problem, key: jax.Array, cfg: Config, tol, maxiter):
    """``(fit, risks)`` of one trial: the one compiled function behind :func:`fit`, :func:`trial` and
    :func:`estimate` (compiling is the slow part on CPU); ``cfg`` (:func:`config`) is static."""
    f = fit_pure(problem, key, cfg, tol, maxiter)
    return f, fit_risks(problem, f)


def fit(
    problem: Problem,
    *,
    key: jax.Array,
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
    cache_bytes: int | None = None,
) -> Fit:
    """Fitted parameters of one trial (jitted); solver diagnostics in ``teacher_info``/``student_info``.

    Does not raise on non-convergence (inspect the infos); :func:`trial` and :func:`estimate` do.
    """
    _check_solver(tol, maxiter)
    return trial_program(problem, key, config(problem, cache_bytes=cache_bytes), float(tol), int(maxiter))[0]


def _check(info: SolveInfo, role: str, tol: float, maxiter: int, trial_index=None) -> None:
    conv = np.asarray(info.converged)
    if conv.all():
        return
    i = int(np.argmin(conv.reshape(-1)))
    res = float(np.asarray(info.residual).reshape(-1)[i])
    its = int(np.asarray(info.iterations).reshape(-1)[i])
    where = "" if trial_index is None else f" in trial {trial_index(i)}"
    raise SolveError(
        f"{role} solve did not converge{where}: relative residual {res:.3g} > {SLACK * tol:.3g} after "
        f"{its} CG iterations (maxiter {maxiter}); the system is ill-conditioned (near the "
        "interpolation threshold n = d_z p?) or maxiter is too small"
    )


def trial(
    problem: Problem,
    *,
    key: jax.Array,
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
    cache_bytes: int | None = None,
) -> dict[str, jax.Array]:
    """One trial's exact excess risks: keys :data:`RISK_KEYS` (teacher/student risk at eta_t,
    gain = teacher - student, and the per-group risks ``*_g0`` (eta = 0), ``*_g1`` (eta = 1)).

    Raises :class:`SolveError` if a solve missed its residual target.
    """
    _check_solver(tol, maxiter)
    f, out = trial_program(problem, key, config(problem, cache_bytes=cache_bytes), float(tol), int(maxiter))
    _check(f.teacher_info, "teacher", tol, maxiter)
    _check(f.student_info, "student", tol, maxiter)
    return out


def estimate(
    problem: Problem,
    *,
    trials: int,
    seed: int,
    progress: bool | None = None,
    tol: float = DEFAULT_TOL,
    maxiter: int = DEFAULT_MAXITER,
    cache_bytes: int | None = None,
    return_trials: bool = False,
) -> dict:
    r"""Monte-Carlo means and standard errors over ``trials`` independent trials.

    Trial ``r`` uses ``jax.random.split(jax.random.key(seed), trials)[r]``; the same seed
    gives the identical result. For each key of :data:`RISK_KEYS` returns
    ``{"mean": float, "se": float}`` with :math:`se = s/\sqrt R` (sample standard deviation
    ``s``, ``ddof = 1``); the gain's se is that of the paired per-trial differences. Also returns
    ``trials``, ``seed``, ``d_z``, ``n``, ``N`` (None when nu = 0), and with ``return_trials``
    the per-trial values under ``"per_trial"`` (numpy arrays of shape ``(trials,)``).

    Args:
        problem: the setting (concrete, not traced).
        trials: number of trials R >= 2.
        seed: non-negative integer.
        progress: show a tqdm bar; ``None`` = only when stderr is a terminal.
        tol, maxiter, cache_bytes: solver settings (see :func:`config`).

    Raises:
        ProblemError: bad ``trials`` or ``seed``.
        SolveError: a CG solve missed its residual target.
        Interrupted: on Ctrl-C; carries the estimate over the trials that finished.
    """
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 2:
        raise ProblemError(f"trials: must be an integer >= 2 (a standard error needs two), got {trials!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise ProblemError(f"seed: must be an integer in [0, 2^63), got {seed!r}")
    trials, seed = int(trials), int(seed)
    _check_solver(tol, maxiter)
    cfg = config(problem, cache_bytes=cache_bytes)
    keys = jax.random.split(jax.random.key(seed), trials)
    if progress is None:
        progress = sys.stderr.isatty()
    from tqdm.auto import tqdm

    outs, infos = [], []
    try:
        with tqdm(total=trials, disable=not progress, desc="w2s simulate", unit="trial", file=sys.stderr) as bar:
            for r in range(trials):
                f, out = trial_program(problem, keys[r], cfg, float(tol), int(maxiter))
                outs.append(out)
                infos.append((f.teacher_info, f.student_info))
                if progress:
                    jax.block_until_ready(out)  # so the bar tracks finished trials, not queued ones
                bar.update(1)
    except KeyboardInterrupt:
        done = len(outs)  # dispatched trials finish; only the one being dispatched is lost
        partial = _summarise(problem, cfg, seed, outs, infos, tol, maxiter, return_trials) if done >= 2 else None
        raise Interrupted(done, trials, partial) from None
    return _summarise(problem, cfg, seed, outs, infos, tol, maxiter, return_trials)


def z_score(mean, se, predicted):
    """``(mean - predicted) / se``, the Monte-Carlo mean's distance from a prediction in standard
    errors; where ``se`` is 0 it is 0 if the two agree exactly and +-inf otherwise (never NaN).
    Floats give a float, arrays an array."""
    mean, se, predicted = np.asarray(mean, float), np.asarray(se, float), np.asarray(predicted, float)
    diff = mean - predicted
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.where(diff == 0, 0.0, np.copysign(np.inf, diff)))
    return float(z) if z.ndim == 0 else z


def _summarise(problem, cfg, seed, outs, infos, tol, maxiter, return_trials) -> dict:
    trials = len(outs)
    for role, j in (("teacher", 0), ("student", 1)):
        info = jax.tree_util.tree_map(lambda *a: np.stack([np.asarray(x) for x in a]), *[i[j] for i in infos])
        _check(info, role, tol, maxiter, trial_index=lambda i: i)
    per_trial = {k: np.array([float(o[k]) for o in outs]) for k in RISK_KEYS}
    result: dict = {}
    for k, v in per_trial.items():
        result[k] = {"mean": float(np.mean(v)), "se": float(np.std(v, ddof=1) / np.sqrt(trials))}
    result.update(trials=trials, seed=seed, d_z=problem.d_z, n=cfg.n, N=cfg.N)
    if return_trials:
        result["per_trial"] = per_trial
    return result
