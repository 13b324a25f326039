"""The deep path's statistics sweep: one remedy cell, and the default tweets figure.

``deep_tweets_remedy_cell``: one configuration of ``figures/deep_tweets.py`` in a mismatch
setting, (eta_l, eta_u) = (0.1, 0.5), n = 200 (n_bal = 40), N = 2000, n_val = 400, with the
remedy: the whole 4 x 4 (p, q) grid of Enhanced-W2S heads and their random-subset controls
(32 heads, one vmapped program) beside teacher, W2S and ceiling, on cached features; median
over 5 seeds after a warm-up cell. Baseline in the same run: the same cell without the remedy
(teacher, W2S, ceiling; what most cells of the sweep run), so the ratio is the remedy's cost.
Target: <= 3 s a cell.

``deep_tweets_figure``: the data step of the default tweets figure (every pair of the registry,
3 eta_l x 11 eta_u x 10 seeds, soft labels at eta_u = eta_l, the remedy cells) in a fresh
process with the features cached and an empty cell store. Target: <= 240 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

_FIGURE = """
import json, time
t0 = time.perf_counter()
import figures.deep_tweets as f
from figures import _common
data = f.compute(_common.parameters(f, "default"))
print(json.dumps({"seconds": time.perf_counter() - t0, "cells": [float(x) for x in data["cell_seconds"]],
                  "pairs": len(data["pairs"])}))
"""


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def deep_tweets_remedy_cell() -> dict:
    import jax

    import simulate.deep as deep
    from benchmarks import median_time

    cfg = deep.DeepConfig(dataset="tweets", eta_l=0.1, eta_u=0.5)
    for name in cfg.backbones:
        deep.tweet_features(name, "full")
    t0 = time.perf_counter()
    deep.run_w2s(cfg, key=jax.random.key(100), with_probes=False)  # warm-up: compilation
    deep.run_w2s(cfg, key=jax.random.key(100), with_probes=False, remedy=False)
    compile_s = time.perf_counter() - t0

    def cell(i: int, remedy: bool):
        deep._pipeline._CEILINGS.clear()  # a cell of its own: no ceiling shared with another eta_l
        return deep.run_w2s(cfg, key=jax.random.key(i), with_probes=False, remedy=remedy)

    med, times = median_time(lambda i: cell(i, True), 5, block=False)
    base, base_times = median_time(lambda i: cell(i, False), 5, block=False)
    return {
        "ours_s": med,
        "baseline_s": base,
        "ratio": med / base,
        "compile_s": compile_s,
        "notes": (
            f"one remedy cell, pair {cfg.pair}, n={cfg.n} (n_bal={cfg.n_bal}) N={cfg.N} n_val={cfg.n_val}, "
            f"{len(deep.P_GRID)}x{len(deep.Q_GRID)} grid + random controls; median of 5 seeds "
            f"{[round(t, 2) for t in times]} s; baseline: the same cell without the remedy "
            f"{[round(t, 3) for t in base_times]} s; on {jax.devices()[0]}, load average {_load():.1f}; "
            "target <= 3 s"
        ),
    }


def deep_tweets_figure() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "W2S_FIGURES_DIR": tmp}
        proc = subprocess.run([sys.executable, "-c", _FIGURE], env=env, capture_output=True, text=True, check=True)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "ours_s": r["seconds"],
        "baseline_s": None,
        "ratio": None,
        "notes": (
            f"default tweets figure data step, {r['pairs']} pairs, features cached, empty cell store, fresh "
            f"process; mean cell {r['cells'][0]:.2f} s without and {r['cells'][1]:.2f} s with the remedy grid; "
            f"load average {_load():.1f} at the end; target <= 240 s"
        ),
    }


BENCHMARKS = {"deep_tweets_remedy_cell": deep_tweets_remedy_cell, "deep_tweets_figure": deep_tweets_figure}
