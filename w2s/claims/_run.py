"""The audit's driver: sample every claim in both strata, evaluate it under every method and group
model (paired), summarise, choose counterexamples, re-check them with the simulator, and add claim
(d)'s thresholds table and the mechanism checks."""

from __future__ import annotations

import math
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from setting.groups import LAWS

from . import _engine as engine
from ._definitions import CLAIMS, D_HIGH, D_LOW, ETA_STEP, Case, Claim, _scaled, _threshold_printed
from ._mechanisms import d_thresholds, fails_earlier, mechanism_checks
from ._sampling import COMMON_TEXT, STRATA, for_models, regime_distance

SEED = 2509_24005  # fixed: the box and every simulation reproduce

# Run sizes, per shape: ``n`` cases per claim and stratum; ``n_star`` for the eta_u* claims (each
# case a bisection), grown in the paper's regime in steps of ``n_star`` up to ``n`` until every
# model's exact 95 % Wilson interval is within ``half_width`` (or ``n`` is reached); ``d_z`` and
# ``trials``: the simulator's, for the counterexamples of the first ``sim_models`` group models;
# ``confirm``: failing eta_u* points checked on a grid per claim and model.
SIZES: dict[str, dict[str, Any]] = {
    "quick": {"shapes": ((3, 2),), "n": 40, "n_star": 10, "d_z": (48,), "trials": 32, "sim_models": 1,
              "confirm": 4, "mechanisms": 8, "thresholds": False},
    "full": {"shapes": ((2, 2), (3, 2), (4, 2)), "n": 134, "n_star": 24, "d_z": (64, 128), "trials": 96,
             "sim_models": 2, "confirm": 12, "mechanisms": 48, "thresholds": True},
}  # fmt: skip
HALF_WIDTH = 0.05
MAX_DRAWS = 200_000  # rejection samplers give up after this many draws per case
VIOLATION = 0.01  # a counterexample violates the claim by at least 1 % of the teacher risk
# the values step_sensitivity moves the audit's own factors and steps to
MOVED = {"d_below": (0.5, 0.9), "d_above": (1.1, 2.0), "headline": (ETA_STEP / 2, 2 * ETA_STEP)}
SIM_THREADS = 2  # simulator checks run (and compile) in this many threads
SIMULABLE = 0.05  # simulated counterexamples have gamma_z p_T >= this (n = d_z / gamma_z <= 20 d_z p_T)


def _models():
    return tuple(LAWS)


def _rng(seed: int, claim: Claim, stratum: str, shape) -> np.random.Generator:
    tag = [ord(c) for c in f"{claim.key}|{stratum}|{shape[0]}|{shape[1]}"]
    return np.random.default_rng([seed, *tag])


def _draw(claim: Claim, rng, shape, stratum) -> Case:
    for _ in range(MAX_DRAWS):
        case = claim.sample(rng, shape[0], shape[1], STRATA[stratum])
        if case is not None:
            return case
    raise RuntimeError(f"claim {claim.key}: no case satisfies its condition in {MAX_DRAWS} draws")


def sample_cases(claim: Claim, shapes, stratum: str, n: int, seed: int = SEED) -> list[Case]:
    """``n`` cases per shape of ``claim`` in ``stratum``, from a generator seeded by (seed, claim,
    stratum, shape): each part reproduces on its own, and the group model is not in the seed (paired)."""
    out = []
    for shape in shapes:
        rng = _rng(seed, claim, stratum, shape)
        out += [_draw(claim, rng, shape, stratum) for _ in range(n)]
    return out


def _under(cases: list[Case], model: str) -> list[Case]:
    return [Case(for_models(c.problems, (model,))[model], c.signs) for c in cases]


def _is_star(claim: Claim) -> bool:
    return claim.kind in ("star near", "regret", "star moves")


def _evaluate_claim(claim, cases, models, bar) -> dict[str, dict[str, dict]]:
    return {m: {meth: engine.verdicts(claim, _under(cases, m), meth, bar) for meth in claim.methods} for m in models}


def _narrow(v, models) -> bool:
    for m in models:
        lo, hi = engine.summarise(v[m]["exact"])["ci95"]
        if (hi - lo) / 2 > HALF_WIDTH:
            return False
    return True


def _concat(parts: list[dict[str, dict[str, dict]]]):
    out = {}
    for m in parts[0]:
        out[m] = {}
        for meth in parts[0][m]:
            out[m][meth] = {k: np.concatenate([p[m][meth][k] for p in parts]) for k in parts[0][m][meth]}
    return out


def _run_claim(claim: Claim, cfg, seed, models, bar, done: dict[str, Any]) -> dict[str, Any]:
    shapes = cfg["shapes"]
    entry: dict[str, Any] = {"claim": claim, "cases": {}, "v": {}}
    if claim.cases_of:  # a re-reading of another claim's evaluations
        parent = done[claim.cases_of]
        entry["cases"] = parent["cases"]
        entry["v"] = {
            s: {m: {meth: engine.reread(claim, v) for meth, v in vs.items()} for m, vs in by.items()}
            for s, by in parent["v"].items()
        }
        return entry
    for stratum in STRATA:
        if not _is_star(claim):
            cases = sample_cases(claim, shapes, stratum, cfg["n"], seed)
            entry["cases"][stratum], entry["v"][stratum] = cases, _evaluate_claim(claim, cases, models, bar)
            continue
        # eta_u* claims: grow the sample (per shape, in steps of n_star) until the interval is narrow
        rngs = {s: _rng(seed, claim, stratum, s) for s in shapes}
        cases, parts, per_shape = [], [], 0
        limit = cfg["n"] if stratum == "paper_regime" else cfg["n_star"]
        while per_shape < limit:
            step = min(cfg["n_star"], limit - per_shape)
            new = [_draw(claim, rngs[s], s, stratum) for s in shapes for _ in range(step)]
            per_shape += step
            cases += new
            parts.append(_evaluate_claim(claim, new, models, bar))
            if _narrow(_concat(parts), models):
                break
        entry["cases"][stratum], entry["v"][stratum] = cases, _concat(parts)
    return entry


def _printed_vs_exact(v_printed, v_exact) -> dict[str, int]:
    good = ~v_printed["bad"] & ~v_exact["bad"] & ~v_printed["skip"] & ~v_exact["skip"]
    p, e = v_printed["holds"] & good, v_exact["holds"] & good
    return {
        "both": int((p & e).sum()),
        "printed_only": int((p & ~e & good).sum()),
        "exact_only": int((~p & e & good).sum()),
        "neither": int((~p & ~e & good).sum()),
    }


def _summaries(entry, models) -> None:
    claim = entry["claim"]
    entry["strata"], entry["printed_vs_exact"], entry["confirm"] = {}, {}, {}
    for stratum, by_model in entry["v"].items():
        entry["strata"][stratum] = {
            m: {meth: engine.summarise(v) for meth, v in vs.items()} for m, vs in by_model.items()
        }
        if "printed" in claim.methods:
            entry["printed_vs_exact"][stratum] = {
                m: _printed_vs_exact(vs["printed"], vs["exact"]) for m, vs in by_model.items()
            }


def _violation(claim: Claim, v: dict[str, np.ndarray]) -> np.ndarray:
    """How much each case violates the claim (> 0 where it fails): in units of the teacher risk for
    gain claims and the eta_u* claims that compare risks; in eta_u for 'star moves'."""
    if "regret" in v:
        return np.where(v["holds"], -np.inf, v["regret"])
    return np.where(v["holds"], -np.inf, -v["margin"])


def choose_counterexamples(entry, models) -> dict[str, dict[str, Any]]:
    """Per model: ``nearest``, the case nearest the printed regime (smallest gamma_z p_T + nu_z p_S +
    ridges) among those where the printed forms hold (where they test the claim), the exact theory
    fails by at least :data:`VIOLATION` and the simulator's sample size stays affordable
    (gamma_z p_T >= :data:`SIMULABLE`); ``paper_regime``, the largest exact violation in the paper's
    regime. Each is ``(stratum, index)`` or None."""
    claim = entry["claim"]
    out = {}
    for m in models:
        best, worst = None, None
        for stratum, by_model in entry["v"].items():
            v = by_model[m]["exact"]
            size = _violation(claim, v)
            gpt = np.array([float(c.problems[0].gamma) * c.problems[0].p_T for c in entry["cases"][stratum]])
            ok = ~v["bad"] & ~v["skip"] & (size >= VIOLATION) & (gpt >= SIMULABLE * (1 - 1e-12))
            if "printed" in by_model[m]:
                ok &= by_model[m]["printed"]["holds"] & ~by_model[m]["printed"]["bad"]
            for i in np.nonzero(ok)[0]:
                key = (round(regime_distance(entry["cases"][stratum][i].problems[0]), 12), -size[i])
                if best is None or key < best[0]:
                    best = (key, stratum, int(i))
            if stratum == "paper_regime":
                fail = np.nonzero(~v["bad"] & ~v["skip"] & ~v["holds"])[0]
                if fail.size:
                    i = int(fail[np.argmax(size[fail])])
                    worst = (stratum, i, float(size[i]))
        out[m] = {
            "nearest": None if best is None else (best[1], best[2]),
            "paper_regime": None if worst is None else worst[:2],
        }
    return out


def _counterexample_spec(claim: Claim, case: Case, v: dict[str, np.ndarray], i: int):
    """What to simulate for case ``i``: (problems, quantity, theory value)."""
    if claim.kind == "signs":  # the problem whose gain has the wrong sign, farthest
        own = np.nonzero(v["owner"] == i)[0]
        rel = v["gain"][own] / v["teacher"][own]
        each = np.where(v["signs"][own] == 0, rel + engine.ROUND_OFF, v["signs"][own] * rel)
        j = int(np.argmin(each))
        return (case.problems[j],), "gain", float(v["gain"][own[j]])
    if claim.kind == "gain falls":
        return case.problems, "gain difference", float(v["gain"][i, 1] - v["gain"][i, 0])
    if claim.kind in ("star near", "regret"):
        q = case.problems[0]
        pair = (q.replace(eta_u=float(q.eta_l)), q.replace(eta_u=float(v["star"][i])))
    else:  # star moves: is the second problem's exact eta_u* better than the first problem's?
        q = case.problems[1]
        star, other = float(v["star"][i, 1]), float(v["star"][i, 0])
        if abs(other - star) < 1e-9:
            other = star + 0.05 if star < 0.5 else star - 0.05
        pair = (q.replace(eta_u=other), q.replace(eta_u=star))
    out, _ = engine.evaluate(list(pair), "exact")
    return pair, "student difference", float(out["student_risk"][1] - out["student_risk"][0])


def check_counterexample(problems, quantity, theory, d_zs, trials, seed, z_crit) -> list[dict[str, Any]]:
    """Re-check a counterexample with :func:`simulate.estimate` at each core dimension.

    ``quantity`` is ``"gain"`` (one problem), ``"gain difference"`` (second minus first gain) or
    ``"student difference"`` (second minus first student risk); the pair is simulated with the
    same seed (common random numbers) and the per-trial differences give the mean and its
    standard error. Returns per d_z: mean, se, z = (mean - theory)/se, ``agrees`` (|z| <= z_crit)
    and ``sign_confirmed`` (the Monte-Carlo mean has the theory's sign with |mean| > z_crit se).
    """
    import simulate

    rows = []
    for d_z in d_zs:
        ests = [
            simulate.estimate(q.replace(d_z=d_z), trials=trials, seed=seed, return_trials=True, progress=False)
            for q in problems
        ]
        if quantity == "gain":
            x = np.asarray(ests[0]["per_trial"]["gain"])
        else:
            key = "gain" if quantity == "gain difference" else "student_risk"
            x = np.asarray(ests[1]["per_trial"][key]) - np.asarray(ests[0]["per_trial"][key])
        mean, se = float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))
        z = simulate.z_score(mean, se, theory)
        rows.append(
            {
                "d_z": d_z, "n": ests[0]["n"], "N": ests[0]["N"], "trials": trials, "mean": mean, "se": se, "z": z,
                "agrees": abs(z) <= z_crit,
                "sign_confirmed": bool(np.sign(mean) == np.sign(theory) and abs(mean) > z_crit * se),
            }
        )  # fmt: skip
    return rows


def step_sensitivity(result, models, progress=None) -> list[dict[str, Any]]:
    """The audit's own steps and factors, moved, on the cases already drawn (exact theory only):
    claim (d)'s check factors (0.8 s_P and 1.25 s_P moved to 0.5, 0.9 and 1.1, 2) and the headline's
    eta_u step (0.1 moved to 0.05 and 0.2). Each row: ``claim``, ``what``, ``value`` and, per
    ``stratum|model``, the summary of the re-read verdict."""
    rows = []
    moves = [("d_below", D_LOW, 1, MOVED["d_below"]), ("d_above", D_HIGH, -1, MOVED["d_above"])]
    for key, base, sign, factors in moves:
        entry = result["claims"][key]
        for f in factors:
            cells = {}
            for stratum, cases in entry["cases"].items():
                s_P = np.array([float(_threshold_printed(c.problems[0])) for c in cases])
                mask = np.isfinite(s_P)  # cases checked at a multiple of s_P (not at the cap)
                scaled = [_scaled(c.problems[0], f * s) for c, s in zip(cases, s_P, strict=True) if np.isfinite(s)]
                for m in models:
                    probs = [q.replace(group_model=m) for q in scaled]
                    v = _moved_verdict(probs, mask, lambda g, t, sign=sign: sign * g / t, progress)
                    cells[f"{stratum}|{m}"] = engine.summarise(v, mask)
            rows.append({"claim": key, "what": f"check at this multiple of s_P (default {base:g})", "value": f,
                         "cells": cells})  # fmt: skip
    entry = result["claims"]["headline"]
    for step in MOVED["headline"]:
        cells = {}
        for stratum, cases in entry["cases"].items():
            moved, mask = [], np.zeros(len(cases), bool)
            for i, c in enumerate(cases):
                a, b = c.problems
                side = np.sign(float(b.eta_u) - float(a.eta_u))
                e = float(a.eta_u) + side * step
                if 0.0 <= e <= 1.0:
                    moved.append((i, b.replace(eta_u=e)))
                    mask[i] = True
            for m in models:
                first = np.asarray(entry["v"][stratum][m]["exact"]["gain"])[:, 0]
                probs = [q.replace(group_model=m) for _, q in moved]
                idx = np.array([i for i, _ in moved], int)
                v = _moved_verdict(probs, mask, lambda g, t, first=first[idx]: (first - g) / t, progress)
                cells[f"{stratum}|{m}"] = engine.summarise(v, mask)
        rows.append({"claim": "headline", "what": f"eta_u step (default {ETA_STEP:g})", "value": step, "cells": cells})
    return rows


def _moved_verdict(problems, mask, margin_of, progress) -> dict[str, np.ndarray]:
    """Verdict arrays over all cases (``mask`` marks those re-evaluated, in order) from the exact
    gains of ``problems``: holds where ``margin_of(gain, teacher) > 0``."""
    out, failed = engine.evaluate(problems, "exact", progress)
    margin = margin_of(np.asarray(out["gain"], np.float64), np.asarray(out["teacher_risk"], np.float64))
    n = mask.size
    holds, bad = np.zeros(n, bool), np.zeros(n, bool)
    holds[mask] = margin > 0
    bad[mask] = failed | ~np.isfinite(margin)
    return {"holds": holds, "bad": bad, "skip": np.zeros(n, bool)}


def _progress(total: int, enabled: bool | None, desc: str = "w2s claims"):
    from tqdm.auto import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, disable=not enabled, desc=desc, unit="problem", file=sys.stderr)


def _estimate_total(cfg, models) -> int:
    total = 0
    per_case = {"signs": 1, "gain falls": 2, "star near": 3, "regret": 3, "star moves": 2}
    for c in CLAIMS:
        if c.cases_of:
            continue
        k = per_case[c.kind]
        n = 2 * cfg["n"] if not _is_star(c) else cfg["n"] + cfg["n_star"]
        total += n * len(cfg["shapes"]) * k * len(c.methods) * len(models)
    return total


def run_claims(size: str = "quick", seed: int = SEED, simulate_checks: bool = True, progress: bool | None = None):
    """Evaluate every claim (:data:`~w2s.claims.CLAIMS`) in both strata (``size``: ``"quick"`` or
    ``"full"``, see :data:`SIZES`).

    Returns a dict: the run's settings; per claim its cases and verdict arrays per stratum, model and
    method, ``strata`` (the summaries), ``printed_vs_exact``, ``counterexample`` (with simulator
    checks) and ``confirm`` (eta_u* confirmed on a grid); ``d_thresholds`` (claim (d)'s table, full
    runs), ``d_earlier`` and ``mechanisms``.
    """
    cfg = SIZES[size]
    models = _models()
    result: dict[str, Any] = {
        "size": size,
        "seed": seed,
        "shapes": cfg["shapes"],
        "models": models,
        "strata_text": {k: s.text for k, s in STRATA.items()},
        "common_text": COMMON_TEXT,
        "claims": {},
    }
    bar = _progress(_estimate_total(cfg, models), progress)
    with bar:
        for claim in CLAIMS:
            entry = _run_claim(claim, cfg, seed, models, bar, result["claims"])
            _summaries(entry, models)
            if _is_star(claim) and claim.kind != "star moves":
                entry["confirm"] = {
                    m: engine.confirm_stars(
                        _under(entry["cases"]["box"] + entry["cases"]["paper_regime"], m),
                        {k: np.concatenate([entry["v"][s][m]["exact"][k] for s in ("box", "paper_regime")])
                         for k in entry["v"]["box"][m]["exact"]},
                        cfg["confirm"],
                    )
                    for m in models
                }  # fmt: skip
            result["claims"][claim.key] = entry
        result["d_thresholds"] = d_thresholds(models, bar) if cfg["thresholds"] else []
        result["d_earlier"] = fails_earlier(result["d_thresholds"]) if result["d_thresholds"] else {}
        result["mechanisms"] = mechanism_checks(seed, cfg["mechanisms"], bar)
        result["step_sensitivity"] = step_sensitivity(result, models, bar)
    # counterexamples of the literal readings, re-checked by the simulator
    todo = []
    for entry in result["claims"].values():
        claim = entry["claim"]
        entry["counterexample"] = {}
        if not claim.simulate:
            continue
        chosen = choose_counterexamples(entry, models)
        for m in models:
            entry["counterexample"][m] = {}
            for which, pick in chosen[m].items():
                if pick is None:
                    entry["counterexample"][m][which] = None
                    continue
                stratum, i = pick
                case = _under([entry["cases"][stratum][i]], m)[0]
                spec = _counterexample_spec(claim, case, entry["v"][stratum][m]["exact"], i)
                ce = {"stratum": stratum, "index": i, "problems": spec[0], "quantity": spec[1], "theory": spec[2]}
                entry["counterexample"][m][which] = ce
                if which == "nearest" and m in models[: cfg["sim_models"]]:
                    todo.append(ce)
    result["comparisons"] = len(todo) * len(cfg["d_z"])
    z_crit = engine.z_star(result["comparisons"])
    result["z_crit"] = z_crit
    if simulate_checks:
        # Each counterexample has its own sample sizes, so the simulator compiles for each: two threads
        # compile side by side on two cores. Every check is seeded, so the results do not depend on the order.
        def check(ce):
            ce["simulation"] = check_counterexample(
                ce["problems"], ce["quantity"], ce["theory"], cfg["d_z"], cfg["trials"], seed % 2**31, z_crit
            )

        with _progress(len(todo), progress, "simulator checks") as sim_bar, ThreadPoolExecutor(SIM_THREADS) as pool:
            for _ in pool.map(check, todo):
                sim_bar.update(1)
    return result
