r"""The audit's engine: batched theory evaluation, each claim kind's verdict, and the statistics.

Every theory number goes through :func:`evaluate`, which groups problems by shape and group model
and runs :func:`asymptotics.evaluate`'s compiled programs in fixed-size chunks (one compilation per
shape). :func:`verdicts` turns a method's evaluation of a list of :class:`~w2s.claims._definitions.Case`
into per-case ``holds``, ``margin``, ``bad`` (the evaluation failed), ``skip`` (a tie: counted, not
in the denominator) and the raw quantities behind them. :func:`wilson` is the 95 % interval of a
fraction.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import jax
import numpy as np

import asymptotics
from setting import RISK_NAMES
from setting.problem import Problem

from ._definitions import Case, Claim

CHUNK = 64  # problems per vmapped call (every call padded to this size: one compilation per shape)
STAR_CHUNK = 16  # the same for eta_u* (each point is a bisection: less padding waste)
FAMILY_WISE = 0.01  # false-failure budget of all simulator comparisons in one report, two-sided
ROUND_OFF = 1e-9  # 'gain >= 0' tolerates a gain of -1e-9 teacher risk (round-off)
GRID_POINTS = 101  # eta_u grid that confirms an exact eta_u* at failing points

# name -> (quantity, method, output key) of asymptotics.evaluate
THEORY: dict[str, tuple[str, str, str | None]] = {
    "printed": ("printed", "exact", None),
    "leading": ("risks", "paper", None),
    "exact": ("risks", "exact", None),
    "star_printed": ("printed", "exact", "eta_u_star_printed"),
    "star_leading": ("boundary", "paper", "eta_u_star"),
    "star_exact": ("point", "exact", "eta_u_star"),
}


def z_star(comparisons: int, budget: float = FAMILY_WISE) -> float:
    """Two-sided Bonferroni critical value: :math:`\\Phi^{-1}(1 - \\text{budget}/(2K))` for K comparisons."""
    return NormalDist().inv_cdf(1.0 - budget / (2.0 * max(comparisons, 1)))


def wilson(holds: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score 95 % interval of the fraction holds / n ((0, 1) when n = 0)."""
    if n == 0:
        return 0.0, 1.0
    p = holds / n
    den = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def _evaluate(problems: list[Problem], name: str, progress=None) -> tuple[Any, np.ndarray]:
    """``THEORY[name]`` at every problem (all of one shape and group model), in chunks of
    :data:`CHUNK` (:data:`STAR_CHUNK` for eta_u*) so that a progress bar moves.

    Returns ``(values, failed)``: the risks (a dict) or eta_u* (an array), NaN where the exact
    fixed point did not converge, and ``failed`` marking those problems. The printed eta_u* is the
    unconstrained maximiser clipped to [0, 1].
    """
    quantity, method, key = THEORY[name]
    size = STAR_CHUNK if name.startswith("star") else CHUNK
    outs, failed = [], []
    for start in range(0, len(problems), size):
        chunk = problems[start : start + size]
        out = asymptotics.evaluate(chunk, quantity, method, on_error="nan")
        failed.append(~out.pop("converged"))
        if key == "eta_u_star_printed":
            outs.append(np.clip(out[key], 0.0, 1.0))
        else:
            outs.append(out[key] if key else {k: out[k] for k in RISK_NAMES})
        if progress is not None:
            progress.update(len(chunk))
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *outs), np.concatenate(failed)


def evaluate(problems: list[Problem], name: str, progress=None):
    """:func:`_evaluate` over problems of several shapes and group models: grouped, results in input order."""
    if not problems:
        return ({k: np.zeros(0) for k in RISK_NAMES} if not name.startswith("star") else np.zeros(0)), np.zeros(0, bool)
    keys = [(q.group_model, q.p_T, q.p_S, q.p) for q in problems]
    parts = []
    for key in dict.fromkeys(keys):
        idx = np.array([i for i, k in enumerate(keys) if k == key])
        out, bad = _evaluate([problems[i] for i in idx], name, progress)
        parts.append((idx, out, bad))
    failed = np.zeros(len(problems), dtype=bool)

    def assemble(*leaves):
        full = np.full((len(problems),) + leaves[0].shape[1:], np.nan)
        for (idx, _, _), leaf in zip(parts, leaves, strict=True):
            full[idx] = leaf
        return full

    for idx, _, bad in parts:
        failed[idx] = bad
    return jax.tree_util.tree_map(assemble, *[out for _, out, _ in parts]), failed


def verdicts(claim: Claim, cases: list[Case], method: str, progress=None) -> dict[str, np.ndarray]:
    """Per case: ``holds``, ``margin`` (< 0 where the claim fails; relative to the teacher risk for
    gain claims), ``bad`` (an evaluation failed or was not finite), ``skip`` (ties), and the raw
    quantities (``gain``, ``teacher``; ``star``, ``regret``). For ``"signs"`` claims ``gain``, ``teacher``,
    ``signs`` are per problem, ``owner`` the case each problem belongs to."""
    k = len(cases[0].problems)
    flat = [q for c in cases for q in c.problems]
    n = len(cases)
    skip = np.zeros(n, bool)
    if claim.kind == "signs":  # cases may hold different numbers of problems (claim (d))
        owner = np.array([i for i, c in enumerate(cases) for _ in c.problems])
        signs = np.array([s for c in cases for s in c.signs], np.float64)
        out, failed_each = evaluate(flat, method, progress)
        gain = np.asarray(out["gain"], np.float64)
        teacher = np.asarray(out["teacher_risk"], np.float64)
        rel = gain / teacher
        each = np.where(signs == 0, rel + ROUND_OFF, signs * rel)
        margin = np.full(n, np.inf)
        failed = np.zeros(n, bool)
        np.logical_or.at(failed, owner, failed_each | ~np.isfinite(each))
        np.minimum.at(margin, owner, np.where(np.isfinite(each), each, -np.inf))  # failed: marked bad above
        return {"holds": margin > 0, "margin": margin, "bad": failed, "skip": skip, "gain": gain, "teacher": teacher,
                "owner": owner, "signs": signs}  # fmt: skip
    if claim.kind == "gain falls":
        out, failed = evaluate(flat, method, progress)
        gain = np.asarray(out["gain"], np.float64).reshape(n, k)
        teacher = np.asarray(out["teacher_risk"], np.float64).reshape(n, k)
        failed = failed.reshape(n, k).any(axis=1)
        margin = (gain[:, 0] - gain[:, 1]) / teacher[:, 0]
        bad = failed | ~np.isfinite(margin)
        return {"holds": margin > 0, "margin": margin, "bad": bad, "skip": skip, "gain": gain, "teacher": teacher}
    star, failed = evaluate(flat, f"star_{method}", progress)
    star = np.asarray(star, np.float64).reshape(n, k)
    failed = failed.reshape(n, k).any(axis=1)
    el = np.array([float(c.problems[0].eta_l) for c in cases])
    if claim.kind == "star moves":
        et = np.array([float(c.problems[0].eta_t) for c in cases])
        if claim.direction > 0:
            d = np.abs(star - el[:, None])
            margin = d[:, 1] - d[:, 0] - 1e-6
        else:
            d = np.abs(star - et[:, None])
            margin = d[:, 0] - d[:, 1] - 1e-6
        end = (star[:, 0] <= 1e-9) | (star[:, 0] >= 1 - 1e-9)
        skip = (np.abs(star[:, 0] - star[:, 1]) <= 1e-9) & end
        bad = failed | ~np.isfinite(margin)
        return {"holds": margin > 0, "margin": margin, "bad": bad, "skip": skip, "star": star}
    # "star near" and "regret": the student risk at eta_l and at eta_u*, and the teacher's
    qs = [c.problems[0] for c in cases]
    at = [q.replace(eta_u=float(e)) for q, e in zip(qs, el, strict=True)]
    at += [q.replace(eta_u=float(s) if np.isfinite(s) else float(q.eta_u)) for q, s in zip(qs, star[:, 0], strict=True)]
    out, failed_r = evaluate(at, method, progress)
    student = np.asarray(out["student_risk"], np.float64).reshape(2, n)
    teacher = np.asarray(out["teacher_risk"], np.float64)[:n]
    regret = student[0] - student[1]
    failed = failed | failed_r.reshape(2, n).any(axis=0)
    if claim.kind == "star near":
        margin = claim.tol - np.abs(star[:, 0] - el)
    else:
        margin = claim.tol - regret / student[1]
    bad = failed | ~np.isfinite(margin)
    return {
        "holds": margin >= 0,
        "margin": margin,
        "bad": bad,
        "skip": skip,
        "star": star[:, 0],
        "regret": regret / teacher,  # in units of the teacher risk (counterexample size)
        "regret_rel": regret / student[1],
    }


def reread(claim: Claim, v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``v`` (the verdict arrays of a ``"star near"`` claim on the same cases) read as ``claim``: a
    ``"regret"`` claim needs no new evaluation."""
    if claim.kind != "regret" or "regret_rel" not in v:
        raise ValueError(f"claim {claim.key}: cannot re-read a {sorted(v)} evaluation")
    margin = claim.tol - v["regret_rel"]
    return {**v, "holds": margin >= 0, "margin": margin, "bad": v["bad"] | ~np.isfinite(margin)}


def summarise(v: dict[str, np.ndarray], mask: np.ndarray | None = None) -> dict[str, Any]:
    """``n``, ``errors``, ``ties``, ``holds``, ``fraction`` = holds / (n - errors - ties) and its
    Wilson ``ci95``, over the cases selected by ``mask`` (all by default)."""
    sel = np.ones(v["holds"].shape, bool) if mask is None else mask
    bad, skip = v["bad"] & sel, v["skip"] & sel & ~v["bad"]
    good = sel & ~v["bad"] & ~v["skip"]
    holds = int((v["holds"] & good).sum())
    denom = int(good.sum())
    lo, hi = wilson(holds, denom)
    return {
        "n": int(sel.sum()),
        "errors": int(bad.sum()),
        "ties": int(skip.sum()),
        "holds": holds,
        "fraction": holds / denom if denom else math.nan,
        "ci95": [lo, hi],
    }


def confirm_stars(cases: list[Case], v: dict[str, np.ndarray], limit: int, progress=None) -> dict[str, int]:
    """At up to ``limit`` failing cases, is the exact eta_u* (projected bisection, which assumes one
    minimum) at least as good as the best of a :data:`GRID_POINTS`-point eta_u grid?"""
    fail = np.nonzero(~v["holds"] & ~v["bad"])[0][:limit]
    if fail.size == 0:
        return {"checked": 0, "confirmed": 0}
    grid = np.linspace(0.0, 1.0, GRID_POINTS)
    qs = [cases[i].problems[0] for i in fail]
    flat = [q.replace(eta_u=float(e)) for q in qs for e in grid]
    flat += [q.replace(eta_u=float(v["star"][i])) for q, i in zip(qs, fail, strict=True)]
    out, failed = evaluate(flat, "exact", progress)
    risk = np.asarray(out["student_risk"], np.float64)
    on_grid = risk[: fail.size * grid.size].reshape(fail.size, grid.size)
    at_star = risk[fail.size * grid.size :]
    ok = at_star <= on_grid.min(axis=1) + 1e-9 * np.abs(at_star)
    return {"checked": int(fail.size), "confirmed": int(ok.sum())}
