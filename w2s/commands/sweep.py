"""``w2s sweep``: Monte-Carlo estimates over a parameter grid, resumable, optionally on Dask.

Example::

    w2s sweep --set mu_xi=[2.0] --grid eta_u=0:1:11 --grid nu=0.1,0.5 --trials 16 --chunk 4 \\
        --store results/sweep --workers 2

Rerunning the same command computes only the cells not yet in ``--store``.
"""

from __future__ import annotations

import argparse
import itertools

from setting import RISK_NAMES

from ._common import add_problem_arguments, dump_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_problem_arguments(parser)
    parser.add_argument(
        "--grid",
        metavar="FIELD=VALUES",
        action="append",
        default=[],
        help="a scalar field and its values: 'a,b,c' or 'start:stop:num' (inclusive, like linspace); "
        "repeatable, the grids are crossed",
    )
    parser.add_argument("--trials", type=int, default=8, help="trials per grid point (default 8)")
    parser.add_argument("--chunk", type=int, help="trials per cell (default: all of a point's trials in one cell)")
    parser.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    parser.add_argument("--store", default="results/sweep", help="result-store directory (default results/sweep)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--dask", metavar="ADDRESS", help="run cells on this Dask scheduler (tcp://host:8786)")
    where.add_argument("--workers", type=int, metavar="K", help="run cells on a local Dask cluster of K processes")
    parser.add_argument(
        "--fn",
        default="simulate:estimate",
        metavar="MODULE:NAME",
        help="cell function fn(problem, *, trials, seed) -> dict (default simulate:estimate)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def parse_grid(item: str) -> tuple[str, list[float]]:
    """``'eta_u=0:1:5'`` -> ``('eta_u', [0, .25, .5, .75, 1])``; ``'nu=0.1,0.5'`` -> ``('nu', [0.1, 0.5])``."""
    from setting.problem import SCALARS
    from w2s.commands import InputError

    name, sep, text = item.partition("=")
    name = name.strip()
    if not sep or name not in SCALARS:
        raise InputError(f"--grid: expected FIELD=VALUES with FIELD one of {', '.join(SCALARS)}, got {item!r}")
    try:
        if ":" in text:
            start, stop, num = text.split(":")
            import numpy as np

            values = np.linspace(float(start), float(stop), int(num)).tolist()
        else:
            values = [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"--grid: cannot read the values of {item!r} ('a,b,c' or 'start:stop:num')") from None
    if not values:
        raise InputError(f"--grid: no values in {item!r}")
    return name, values


def run(args: argparse.Namespace) -> int:
    from setting.problem import load_problem
    from w2s.commands import InputError
    from w2s.sweep import grid_cells, pool_by_point
    from w2s.sweep import run as run_sweep

    base = load_problem(args.config, args.overrides)
    grids = dict(parse_grid(g) for g in args.grid)
    if args.trials < 1 or (args.chunk is not None and args.chunk < 1):
        raise InputError("--trials and --chunk must be >= 1")
    points = [dict(zip(grids, combo, strict=True)) for combo in itertools.product(*grids.values())]
    problems = [base.replace(**point) for point in points]
    cells = grid_cells(problems, trials=args.trials, seed=args.seed, chunk=args.chunk)
    results = pool_by_point(cells, run_sweep(cells, args.store, fn=args.fn, dask=args.dask, workers=args.workers))
    if args.json:
        print(dump_json([{"grid": p, **r} for p, r in zip(points, results, strict=True)]))
        return 0
    names = list(grids)
    quantities = [q for q in RISK_NAMES if q in results[0]]
    print("  ".join([f"{n:>10}" for n in names] + [f"{q:>22}" for q in quantities]))
    for point, r in zip(points, results, strict=True):
        cols = [f"{point[n]:>10.4g}" for n in names]
        cols += [f"{r[q]['mean']:>12.5g} ± {r[q]['se']:<7.2g}" for q in quantities]
        print("  ".join(cols))
    print(f"({len(cells)} cells in {args.store}, {args.trials} trials per point, d_z = {base.d_z})")
    return 0
