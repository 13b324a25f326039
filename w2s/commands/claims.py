"""``w2s claims``: each of the paper's claims, read three ways, checked in two strata.

Writes the report between the claims markers of the Markdown file ``--doc`` (a file that does not
exist yet is created holding only the report), with its figures next to it in a folder
``claims/``. Without ``--doc``, a full run writes ``docs/claims.md`` of the current directory when
there is one (run from the project's clone, as ``make claims`` does) and otherwise writes nothing
and says so; a ``--quick`` run writes only when ``--doc`` is given, so it never replaces the full
report by accident. ``--json`` prints the results as JSON instead of the one-line-per-reading
summary. The audit itself is :mod:`w2s.claims`.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from w2s.markers import MarkersError, check_markers, markers

DOC = Path("docs") / "claims.md"  # relative to the current directory: the project's clone


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
        help="Markdown file whose claims markers receive the report, created if it does not exist; the figures go "
        "to claims/ beside it (default for a full run: docs/claims.md of the current directory if there is one, "
        "as in the project's clone, else the report is not written; a --quick run writes only when this is given)",
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
    doc = report_path(args.doc, args.quick)
    if doc is not None and doc.exists():
        try:
            check_markers(doc, "claims")
        except MarkersError as e:
            raise InputError(f"--doc: {e}") from None
    elif doc is not None and not doc.parent.is_dir():
        raise InputError(f"--doc: the folder {str(doc.parent)!r} of {str(doc)!r} does not exist")
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
        if not doc.exists():
            doc.write_text("\n".join(markers("claims")) + "\n")
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
    if doc is not None:
        written = f"; report written to {doc}"
    elif args.quick:
        written = ""
    else:
        written = f"; report not written ({DOC} is not in the current directory; --doc FILE writes it)"
    print(f"{size} run, {result['seconds']:.0f} s{written}")
    return 0


def report_path(doc: str | None, quick: bool) -> Path | None:
    """Where the report goes: ``--doc`` if given; else, for a full run, :data:`DOC` when the current
    directory has it (the project's clone); else nowhere."""
    if doc:
        return Path(doc)
    return None if quick or not DOC.is_file() else DOC
