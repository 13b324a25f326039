"""Benchmarks: ``python -m benchmarks [--only NAME ...]`` (``make bench``).

Each module ``benchmarks/bench_*.py`` exposes ``BENCHMARKS: dict[str, callable]``; a callable
takes no arguments and returns a dict with ``ours_s`` and ``baseline_s`` (seconds per unit of
work, ``baseline_s`` may be None), ``ratio`` (baseline/ours, None without a baseline) and
optionally ``peak_mb``, ``baseline_peak_mb``, ``compile_s``, ``notes``. The harness adds the
date and the machine, prints a table and merges the entries into ``benchmarks/results.json``
(one entry per benchmark name, so figures can be compared from run to run).

Benchmarks are not tests: they warm up, ``block_until_ready``, take the median of repeats,
report compile time apart, and time their baseline in the same run, so that a result is a ratio.
"""

from ._harness import discover, machine, median_time, run

__all__ = ["discover", "machine", "median_time", "run"]
