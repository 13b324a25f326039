"""``python -m figures [--fast | --full] [--group G] [--only NAME ...] [--dask ADDRESS | --workers K]``: build figures.

Every module in :data:`figures.FIGURES` (discovered: see :mod:`figures`) is built by
:func:`figures._common.build`: cached data step, plot, saving. Simulation cells go through
:mod:`w2s.sweep` (resumable: an interrupted build recomputes only the cells it had not
finished); ``--dask``/``--workers`` run them on a Dask cluster.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from figures import FIGURES, GROUPS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m figures", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--fast", action="store_true", help="seconds-long smoke sizes (CI)")
    size.add_argument("--full", action="store_true", help="the paper's d_z = 2048 (GPU or cluster)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="build only these figures (module names)")
    parser.add_argument(
        "--group",
        choices=sorted(set(GROUPS.values())),
        help="build only the figures of this group (theory: the paper's theory figures; deep: the deep path)",
    )
    parser.add_argument(
        "--write-times",
        action="store_true",
        help="write this build's wall times into the table in figures/README.md (use with an empty data dir)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--dask", metavar="ADDRESS", help="run simulation cells on this Dask scheduler")
    where.add_argument("--workers", type=int, metavar="K", help="run simulation cells on a local Dask cluster")
    args = parser.parse_args(argv)
    import w2s

    w2s.use_jax_cache()  # the simulator's programs take seconds to compile per shape; a rebuild reuses them
    from figures import _common

    client = None
    if args.workers is not None:  # one local cluster for the whole build, not one per figure
        from w2s.sweep import local_cluster

        client = local_cluster(args.workers)
    _common.RUNNER.update(dask=client if client is not None else args.dask)
    try:
        return _build(args)
    finally:
        if client is not None:
            cluster = client.cluster
            client.close()
            cluster.close()


def _build(args) -> int:
    size_name = "fast" if args.fast else "full" if args.full else "default"
    names = [n for n in FIGURES if args.group in (None, GROUPS[n])]
    if args.only:
        wanted = {n if n.startswith("figures.") else f"figures.{n}" for n in args.only}
        unknown = wanted - set(FIGURES)
        if unknown:
            known = ", ".join(n.split(".")[-1] for n in FIGURES)
            bad = sorted(unknown)[0].split(".")[-1]
            print(f"figures: error: --only: unknown figure {bad!r} (known: {known})", file=sys.stderr)
            return 2
        names = [n for n in names if n in wanted]
    from figures import _common

    times = {}
    for name in names:
        t0 = time.perf_counter()
        paths = _common.build(importlib.import_module(name), size_name)
        short = name.split(".")[-1]
        times[short] = time.perf_counter() - t0
        print(f"{short:<28} {times[short]:7.1f} s  -> {', '.join(str(p) for p in paths)}")
    if args.write_times:
        write_times(times, size_name)
    return 0


README = Path(__file__).resolve().parent / "README.md"


def write_times(times: dict[str, float], size_name: str, readme=README) -> None:
    """Replace the text between the README's times markers with a table of ``times`` (seconds)."""
    import os
    import platform

    from w2s.markers import MarkersError, check_markers, write_between

    try:
        check_markers(readme, "times")
    except MarkersError as e:
        raise SystemExit(f"figures: error: {e}") from None
    load = os.getloadavg()[0]
    lines = [
        f"Written by `python -m figures --write-times` ({size_name} sizes, {time.strftime('%Y-%m-%d')}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}, load average {load:.1f} at the end). Wall time per "
        "figure, compilation included; JAX's on-disk compilation cache and the deep path's backbone "
        "cache may have been warm.",
        "",
        "| figure | build time |",
        "|---|---|",
        *(f"| `{name}` | {sec:.0f} s |" for name, sec in times.items()),
        f"| all | {sum(times.values()):.0f} s |",
    ]
    write_between(readme, "times", "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
