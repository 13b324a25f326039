"""``w2s simulate``: Monte-Carlo estimate of the teacher/student risks and the W2S gain."""

from __future__ import annotations

import argparse
import sys

from ._common import add_problem_arguments, dump_json


def add_trial_arguments(parser: argparse.ArgumentParser) -> None:
    """``--trials R`` and ``--seed S`` (shared with ``w2s compare``)."""
    parser.add_argument("--trials", type=int, default=100, metavar="R", help="independent trials, >= 2 (default 100)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed, >= 0 (default 0)")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )


def check_trial_arguments(args: argparse.Namespace) -> None:
    from w2s.commands import InputError

    if args.trials < 2:
        raise InputError(f"--trials: must be >= 2 (a standard error needs two trials), got {args.trials}")
    if not 0 <= args.seed < 2**63:
        raise InputError(f"--seed: must be an integer in [0, 2^63), got {args.seed}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_problem_arguments(parser)
    add_trial_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run_estimate(args: argparse.Namespace):
    """Load the problem and run :func:`simulate.estimate` with the command's arguments."""
    check_trial_arguments(args)
    from setting.problem import load_problem

    problem = load_problem(args.config, args.overrides)
    import simulate

    try:
        return problem, simulate.estimate(problem, trials=args.trials, seed=args.seed, progress=args.progress)
    except simulate.Interrupted as e:
        if e.partial is None:
            raise
        return problem, {**e.partial, "interrupted": {"finished": e.finished, "requested": e.requested}}


def finish(command: str, est: dict) -> int:
    """Exit status of a command that printed ``est``: 130 (with a note) if the run was interrupted."""
    if "interrupted" not in est:
        return 0
    i = est["interrupted"]
    print(
        f"w2s {command}: interrupted after {i['finished']} of {i['requested']} trials; "
        "the estimate above uses the finished ones",
        file=sys.stderr,
    )
    return 130


def header(problem, est) -> str:
    n_text = "inf" if est["N"] is None else str(est["N"])
    return (
        f"simulation: {est['trials']} trials, seed {est['seed']}, d_z={est['d_z']}, n={est['n']}, N={n_text} "
        f"({problem.group_model}, p_T={problem.p_T}, p_S={problem.p_S}, eta_l={problem.eta_l:g} "
        f"eta_u={problem.eta_u:g} eta_t={problem.eta_t:g})"
    )


def run(args: argparse.Namespace) -> int:
    problem, est = run_estimate(args)
    if args.json:
        print(dump_json({**est, "problem": problem.to_dict()}))
        return finish("simulate", est)
    print(header(problem, est))
    import simulate

    for k in simulate.RISK_KEYS:
        print(f"  {k:<18} {est[k]['mean']: .6g} ± {est[k]['se']:.2g}")
    return finish("simulate", est)
