"""``w2s claims``: each of the paper's claims, read three ways, checked in two strata.

Writes the report between the markers of ``docs/claims.md`` (``--doc``; a ``--quick`` run writes
only when ``--doc`` is given, so it never replaces the full report by accident), with its
figures next to it in ``docs/claims/``. ``--json`` prints the results as JSON instead of the
one-line-per-reading summary. The audit itself is :mod:`w2s.claims`.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from w2s.markers import MarkersError, check_markers

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "claims.md"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="one shape and small samples (about a minute)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--seed", type=int, default=None, metavar="S", help="sample and simulation seed (default: fixed)"
    )
    parser.add_argument(
        "--doc",
        metavar="FILE",
        default=None,
        help="Markdown file whose claims markers receive the report (default: docs/claims.md for a full run; "
        "a --quick run writes only when this is given)",
    )
    parser.add_argument("--no-simulate", action="store_true", help="skip the simulator checks of the counterexamples")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )


def run(args: argparse.Namespace) -> int:
    from w2s.commands import InputError

    if args.seed is not None and not 0 <= args.seed < 2**63:
        raise InputError(f"--seed: must be an integer in [0, 2^63), got {args.seed}")
    doc = Path(args.doc) if args.doc else (None if args.quick else DOC)
    if doc is not None:
        try:
            check_markers(doc, "claims")
        except MarkersError as e:
            raise InputError(f"--doc: {e}") from None
    from w2s import claims, use_jax_cache
    from w2s.claims import report

    use_jax_cache()
    size = "quick" if args.quick else "full"
    t0 = time.perf_counter()
    result = claims.run_claims(
        size,
        seed=claims.SEED if args.seed is None else args.seed,
        simulate_checks=not args.no_simulate,
        progress=args.progress,
    )
    result["seconds"] = time.perf_counter() - t0
    result["load"] = os.getloadavg()[0]
    result["cpus"] = os.cpu_count()
    if doc is not None:
        report.write_report(result, doc)
    if args.json:
        from ._common import dump_json

        print(dump_json(report.to_json(result)))
        return 0
    for entry in result["claims"].values():
        parts = []
        for stratum, by_model in entry["strata"].items():
            cells = ", ".join(f"{m} {by_model[m]['exact']['fraction']:.3f}" for m in by_model)
            parts.append(f"{stratum}: {cells}")
        print(f"{entry['claim'].title}\n    exact theory holds on: " + "; ".join(parts))
    print(f"{size} run, {result['seconds']:.0f} s" + (f"; report written to {doc}" if doc is not None else ""))
    return 0
