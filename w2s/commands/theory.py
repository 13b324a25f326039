"""``w2s theory``: predicted risks and gain of one problem."""

from __future__ import annotations

import argparse

from setting import THEORY_NAMES

from ._common import add_problem_arguments, dump_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_problem_arguments(parser)
    import asymptotics

    parser.add_argument(
        "--method",
        choices=sorted(asymptotics.METHODS),
        default=asymptotics.DEFAULT_METHOD,
        help=f"theory method (default: {asymptotics.DEFAULT_METHOD})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    import asymptotics
    from setting.problem import load_problem

    problem = load_problem(args.config, args.overrides)
    # One compiled program per (method, group model, shape), loaded from disk after the first run.
    point = asymptotics.evaluate(problem, "point", args.method)
    out = {k: float(point[k]) for k in THEORY_NAMES}
    extra = {}
    notes = []
    if args.method == "paper":
        extra["eta_u_star"] = float(point["eta_u_star"])
        extra["failure_threshold_mu_T2"] = float(point["failure_threshold_mu_T2"])
    elif bool(point["at_threshold"]):
        notes.append(
            "a ridgeless fit sits exactly at its interpolation threshold (gamma p_T = 1 or nu p_S = 1): "
            "its risk is infinite; set a ridge > 0 or move off the threshold"
        )
    else:
        extra["eta_u_star"] = float(point["eta_u_star"])
    result = {**out, **extra, "method": args.method, "problem": problem.to_dict()}
    if notes:
        result["notes"] = notes
    if args.json:
        print(dump_json(result))
        return 0
    s = problem.summary()
    print(
        f"problem: {problem.group_model}, p_T={s['p_T']}, p_S={s['p_S']}, ||Xi||_F^2={s['similarity']:.4g}, "
        f"||mu_T||^2/sigma_xi2={s['mu_T2']:.4g}, ||mu_S||^2/sigma_xi2={s['mu_S2']:.4g}"
    )
    print(
        f"         eta_l={problem.eta_l:g} eta_u={problem.eta_u:g} eta_t={problem.eta_t:g} "
        f"gamma={problem.gamma:g} nu={problem.nu:g} ridge_teacher={problem.ridge_teacher:g} "
        f"ridge_student={problem.ridge_student:g}"
    )
    print(f"method:  {args.method}")
    for k, v in {**out, **extra}.items():
        print(f"  {k:<24} {v: .6g}")
    for note in notes:
        print(f"note: {note}")
    return 0
