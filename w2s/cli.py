"""The ``w2s`` command line.

Each subcommand lives in its own module under :mod:`w2s.commands` exposing ``HELP`` (one
line), ``add_arguments(parser)`` and ``run(args) -> int``; modules are imported only when
their command runs, so ``w2s --help`` stays fast. Bad input (:class:`~setting.problem.ProblemError`
and :class:`InputError`) becomes a one-line message and exit code 2; a theory fixed point that
does not converge (``asymptotics.ConvergenceError``) a one-line message and exit code 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from setting import ProblemError

from .commands import InputError

__all__ = ["COMMANDS", "InputError", "main"]

# name -> (module, one-line help). Register new commands here.
COMMANDS: dict[str, tuple[str, str]] = {
    "theory": ("w2s.commands.theory", "predicted teacher/student risks and W2S gain of a problem"),
    "explore": ("w2s.commands.explore", "serve the interactive phase-diagram explorer in the browser"),
    "simulate": ("w2s.commands.simulate", "Monte-Carlo estimate of the teacher/student risks and the W2S gain"),
    "compare": ("w2s.commands.compare", "every theory method's prediction vs the Monte Carlo, with z-scores"),
    "sweep": ("w2s.commands.sweep", "Monte-Carlo estimates over a parameter grid (resumable; --dask/--workers)"),
    "deep": ("w2s.commands.deep", "W2S and Enhanced-W2S with frozen backbones on airline tweets or coloured digits"),
    "claims": ("w2s.commands.claims", "each of the paper's claims checked over a parameter box (docs/claims.md)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser_for(argv)
    args = parser.parse_args(argv)
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except (ProblemError, InputError) as e:
        print(f"w2s {args.command}: error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        theory = sys.modules.get("asymptotics")  # imported only by the commands that use it
        if theory is None or not isinstance(e, theory.ConvergenceError):
            raise
        print(f"w2s {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"w2s {args.command}: interrupted", file=sys.stderr)
        return 130


def build_parser_for(argv: list[str]) -> argparse.ArgumentParser:
    """The parser with argument definitions loaded for the command named in ``argv`` only."""
    parser = argparse.ArgumentParser(
        prog="w2s", description="Weak-to-strong generalization under spurious correlations: theory and simulation."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(_module=module)
        if name == chosen:
            importlib.import_module(module).add_arguments(p)
    return parser


if __name__ == "__main__":
    sys.exit(main())
