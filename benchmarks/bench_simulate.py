"""Per-trial time of the Monte-Carlo simulator against a dense NumPy baseline.

``simulate_d{64,128,256,512}``: one trial (teacher fit on n = d_z/gamma rows, pseudolabels on
N = d_z/nu rows, student fit, exact risks) at gamma = 0.1, nu = 0.01, p_T = 3, p_S = 2, mixture.
*Ours* is the jitted structured trial (matrix-free CG on z ⊗ w, designs cached or streamed as
:func:`simulate.config` decides); *baseline* does the same trial in NumPy with the explicit
n x (d_z p_T) and N x (d_z p_S) feature matrices and direct dense solves
(:func:`simulate.dense_ridge`: normal equations, or the kernel form when over-parameterised).
Both include sampling. Peak memory: ours = XLA's buffer assignment for the compiled trial
(``memory_analysis()``: arguments + outputs + temporaries, the device memory one trial needs),
baseline = ``tracemalloc`` peak of one baseline trial (NumPy allocations).

Both sides must draw the ``(n + N) d_z`` Gaussian entries of z, so each row also reports the
*sampling floor*: ``baseline_sampling_s`` (NumPy drawing those normals, float64, as the baseline
does) and ``ours_sampling_s`` (our sampler, float32, :func:`simulate.normal`). No exact trial can
beat the baseline by more than ``baseline_s / ours_sampling_s`` (``ratio_cap``), however fast its
solver.

``sampling_normals``: the 6.8 M float32 normals of a d_z = 256 trial, our unrolled Threefry
against ``jax.random.normal`` (the same numbers, bit for bit; JAX compiles the hash as a rolled
loop on CPU).

``paper_scale``: one trial at d_z = 2048 (n = 20480, N = 204800); no baseline (its student
design alone would be N x 4096 float64 = 6.7 GB).
"""

from __future__ import annotations

import math
import time
import tracemalloc

import jax
import jax.numpy as jnp
import numpy as np

import simulate
from setting.moments import student_moment, teacher_moment
from simulate import config, trial_program
from w2s import Problem

from ._harness import median_time

TOL, MAXITER = simulate.DEFAULT_TOL, simulate.DEFAULT_MAXITER


def bench_problem(d_z: int) -> Problem:
    """The benchmark setting: the mixture example's geometry at gamma = 0.1, nu = 0.01."""
    return Problem.from_scalars(
        p_T=3, p_S=2, similarity=0.5, mu_T2=4, mu_S2=2, eta_l=0.1, eta_u=0.4, eta_t=0.5,
        gamma=0.1, nu=0.01, d_z=d_z,
    )  # fmt: skip


def dense_trial(problem: Problem, rng: np.random.Generator) -> dict[str, float]:
    """One trial in plain NumPy with explicit feature matrices (the baseline)."""
    d, n, N = problem.d_z, problem.n, problem.N
    mu, T, S = problem.mu_xi, problem.T, problem.S

    def draw(eta, m):
        Z = rng.standard_normal((m, d))
        _, scales = problem.law.components(eta)  # component j = sum_k 1{u < t_k}, as in the simulator
        u = rng.random(m)
        j = sum((u < t for t in problem.law.tails(eta)), start=np.zeros(m, dtype=int))
        xi = np.asarray(scales, dtype=float)[j][:, None] * mu[None, :]
        xi += math.sqrt(problem.sigma_xi2) * rng.standard_normal((m, mu.size))
        ones = np.ones((m, 1))
        return Z, np.hstack([ones, xi @ T]), np.hstack([ones, xi @ S])

    beta = rng.standard_normal(d)
    beta *= math.sqrt(problem.signal) / np.linalg.norm(beta)
    Z, W, _ = draw(problem.eta_l, n)
    y = Z @ beta + math.sqrt(problem.sigma_y2) * rng.standard_normal(n)
    theta_t = simulate.dense_ridge(simulate.kron_rows(Z, W), y, problem.ridge_teacher).reshape(d, -1)
    Z, W, Psi = draw(problem.eta_u, N)
    u = np.sum((Z @ theta_t) * W, axis=1)
    theta_s = simulate.dense_ridge(simulate.kron_rows(Z, Psi), u, problem.ridge_student).reshape(d, -1)

    def risk(theta, moment):
        delta = theta.copy()
        delta[:, 0] -= beta
        return float(np.sum((delta.T @ delta) * np.asarray(moment)))

    return {
        "teacher_risk": risk(theta_t, teacher_moment(problem, problem.eta_t)),
        "student_risk": risk(theta_s, student_moment(problem, problem.eta_t)),
    }


def time_ours(problem: Problem, repeats: int) -> dict:
    cfg = config(problem)
    key = jax.random.key(0)
    compiled, compile_s = _compile(problem, key, cfg)
    mem = compiled.memory_analysis()
    peak = None
    if mem is not None:
        peak = (mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes) / 2**20
    jax.block_until_ready(compiled(problem, jax.random.key(10_000), TOL, MAXITER))  # warm-up
    seconds, times = median_time(lambda i: compiled(problem, jax.random.key(i), TOL, MAXITER), repeats)
    fit, _ = compiled(problem, jax.random.key(0), TOL, MAXITER)
    iters = (int(fit.teacher_info.iterations), int(fit.student_info.iterations))
    return {"seconds": seconds, "times": times, "compile_s": compile_s, "peak_mb": peak, "cfg": cfg, "iters": iters}


def _compile(problem, key, cfg):
    t0 = time.perf_counter()
    compiled = trial_program.lower(problem, key, cfg, TOL, MAXITER).compile()
    return compiled, time.perf_counter() - t0


def time_baseline(problem: Problem, repeats: int) -> dict:
    dense_trial(problem, np.random.default_rng(10_000))  # warm-up (BLAS threads, page faults)
    seconds, times = median_time(lambda i: dense_trial(problem, np.random.default_rng(i)), repeats, block=False)
    tracemalloc.start()
    dense_trial(problem, np.random.default_rng(0))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": seconds, "times": times, "peak_mb": peak / 2**20}


def _sampler(rows: int, d: int, fast: bool):
    if fast:
        return jax.jit(lambda k: simulate.normal(k, (rows, d), jnp.float32))
    return jax.jit(lambda k: jax.random.normal(k, (rows, d), jnp.float32))


def time_sampling(problem: Problem, repeats: int) -> dict:
    """Seconds to draw the trial's (n + N) x d_z normals: ours (float32) and NumPy (float64)."""
    rows, d = problem.n + (problem.N or 0), problem.d_z
    draw = _sampler(rows, d, fast=True)
    jax.block_until_ready(draw(jax.random.key(0)))
    ours, _ = median_time(lambda i: draw(jax.random.key(i)), repeats)
    rng = np.random.default_rng(0)
    rng.standard_normal((rows, d))  # warm-up (page faults)
    base, _ = median_time(lambda i: rng.standard_normal((rows, d)), repeats, block=False)
    return {"ours": ours, "numpy": base}


def sampling_normals() -> dict:
    problem = bench_problem(256)
    rows, d = problem.n + problem.N, problem.d_z
    fast, slow = _sampler(rows, d, fast=True), _sampler(rows, d, fast=False)
    assert bool(jnp.all(fast(jax.random.key(1)) == slow(jax.random.key(1))))  # the same numbers
    ours, _ = median_time(lambda i: fast(jax.random.key(i)), 5)
    base, _ = median_time(lambda i: slow(jax.random.key(i)), 5)
    return {
        "ours_s": ours,
        "baseline_s": base,
        "ratio": base / ours,
        "notes": f"{rows} x {d} float32 normals ({rows * d / 1e6:.1f} M): simulate.normal (unrolled "
        f"Threefry, {rows * d / ours / 1e6:.0f} M/s) vs jax.random.normal ({rows * d / base / 1e6:.0f} M/s), "
        "identical output",
    }


def _mode(cfg) -> str:
    def one(dual, cached):
        return f"{'dual' if dual else 'primal'}/{'cached' if cached else 'streamed'}"

    return f"teacher {one(cfg.dual_teacher, cfg.cache_teacher)}, student {one(cfg.dual_student, cfg.cache_student)}"


def versus_dense(d_z: int, repeats_ours: int, repeats_base: int):
    def bench() -> dict:
        problem = bench_problem(d_z)
        ours = time_ours(problem, repeats_ours)
        base = time_baseline(problem, repeats_base)
        floor = time_sampling(problem, repeats_ours)
        return {
            "ours_s": ours["seconds"],
            "baseline_s": base["seconds"],
            "ratio": base["seconds"] / ours["seconds"],
            "ours_sampling_s": floor["ours"],
            "baseline_sampling_s": floor["numpy"],
            "ratio_cap": base["seconds"] / floor["ours"],
            "peak_mb": ours["peak_mb"],
            "baseline_peak_mb": base["peak_mb"],
            "compile_s": ours["compile_s"],
            "notes": (
                f"d_z={d_z} n={problem.n} N={problem.N}; {_mode(ours['cfg'])}; CG iterations "
                f"teacher/student {ours['iters'][0]}/{ours['iters'][1]}; median of {repeats_ours} (ours) and "
                f"{repeats_base} (dense) trials incl. sampling; peak: ours XLA memory_analysis, dense tracemalloc"
            ),
        }

    return bench


def paper_scale() -> dict:
    problem = bench_problem(2048).replace(eta_t=0.5)
    ours = time_ours(problem, 2)
    dense_gb = 8 * (problem.n * problem.d_z * problem.p_T + problem.N * problem.d_z * problem.p_S) / 1e9
    return {
        "ours_s": ours["seconds"],
        "baseline_s": None,
        "ratio": None,
        "peak_mb": ours["peak_mb"],
        "compile_s": ours["compile_s"],
        "notes": (
            f"d_z=2048 p_T=3 p_S=2 gamma=0.1 nu=0.01: n={problem.n} N={problem.N}; {_mode(ours['cfg'])}; CG "
            f"iterations teacher/student {ours['iters'][0]}/{ours['iters'][1]}; "
            f"times {[round(t, 2) for t in ours['times']]} s; "
            f"no dense baseline (the explicit designs alone would take {dense_gb:.1f} GB)"
        ),
    }


BENCHMARKS = {
    "sampling_normals": sampling_normals,
    "simulate_d64": versus_dense(64, 5, 5),
    "simulate_d128": versus_dense(128, 5, 3),
    "simulate_d256": versus_dense(256, 3, 3),
    "simulate_d512": versus_dense(512, 3, 2),
    "paper_scale": paper_scale,
}
