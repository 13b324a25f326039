"""``python -m figures [--fast | --full] [--only NAME ...]``: build every figure."""

from __future__ import annotations

import argparse
import importlib
import sys
import time

import matplotlib

matplotlib.use("Agg")

from figures import FIGURES  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m figures", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--fast", action="store_true", help="seconds-long smoke sizes (CI)")
    size.add_argument("--full", action="store_true", help="the paper's d_z = 2048 (GPU or cluster)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="build only these figures (module names)")
    args = parser.parse_args(argv)
    size_name = "fast" if args.fast else "full" if args.full else "default"
    names = FIGURES
    if args.only:
        wanted = {n if n.startswith("figures.") else f"figures.{n}" for n in args.only}
        unknown = wanted - set(FIGURES)
        if unknown:
            print(f"figures: error: --only: unknown figure {sorted(unknown)[0]!r} (known: {', '.join(FIGURES)})",
                  file=sys.stderr)
            return 2
        names = [n for n in FIGURES if n in wanted]
    for name in names:
        t0 = time.perf_counter()
        mod = importlib.import_module(name)
        paths = mod.main(size_name)
        print(f"{name.split('.')[-1]:<28} {time.perf_counter() - t0:7.1f} s  -> {', '.join(str(p) for p in paths)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
