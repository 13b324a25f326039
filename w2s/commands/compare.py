"""``w2s compare``: every theory method's prediction against the Monte Carlo, with z-scores."""

from __future__ import annotations

import argparse

import simulate
from setting import RISK_NAMES

from ._common import add_problem_arguments, dump_json
from .simulate import add_trial_arguments, finish, header, run_estimate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_problem_arguments(parser)
    add_trial_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def predictions(problem, est) -> dict[str, dict]:
    """For each method in :data:`asymptotics.METHODS`: predicted value and z = (empirical - predicted)/se.

    A method that cannot evaluate the problem (it raises ``ValueError``/``NotImplementedError``)
    gets ``{"error": message}`` instead.
    """
    import asymptotics

    out: dict[str, dict] = {}
    for name in asymptotics.METHODS:
        try:
            pred = {k: float(v) for k, v in asymptotics.risks(problem, name).items()}
        except (ValueError, NotImplementedError) as e:
            out[name] = {"error": str(e)}
            continue
        row = {}
        for k in RISK_NAMES:
            mean, se = est[k]["mean"], est[k]["se"]
            z = simulate.z_score(mean, se, pred[k])
            row[k] = {"predicted": pred[k], "z": z}
        out[name] = row
    return out


def run(args: argparse.Namespace) -> int:
    problem, est = run_estimate(args)
    methods = predictions(problem, est)
    if args.json:
        empirical = {k: est[k] for k in est if isinstance(est[k], dict) and k != "interrupted"}
        meta = {k: est[k] for k in ("trials", "seed", "d_z", "n", "N", "interrupted") if k in est}
        print(dump_json({"empirical": empirical, "methods": methods, **meta, "problem": problem.to_dict()}))
        return finish("compare", est)
    print(header(problem, est))
    print(f"  {'quantity':<14} {'empirical ± se':>22}   {'method':<10} {'predicted':>11} {'z':>8}")
    for k in RISK_NAMES:
        emp = f"{est[k]['mean']:.6g} ± {est[k]['se']:.2g}"
        for i, (name, row) in enumerate(methods.items()):
            left = f"  {k if i == 0 else '':<14} {emp if i == 0 else '':>22}"
            if "error" in row:
                print(f"{left}   {name:<10} n/a ({row['error']})")
            else:
                print(f"{left}   {name:<10} {row[k]['predicted']:>11.6g} {row[k]['z']:>8.2f}")
    print("  z = (empirical - predicted) / se; |z| >> 3 means the prediction misses at this d_z (finite-size terms")
    print("  of order 1/d_z are not in the standard error).")
    return finish("compare", est)
