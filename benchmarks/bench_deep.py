"""The deep path on real data: MiniLM feature extraction of the tweets, and one sweep cell.

``deep_tweets_extract``: all used tweets of the full set (:data:`simulate.deep.TWEET_SIZES`
``"full"``, 8,000) through the JAX all-MiniLM-L6-v2 forward, all three encoders in one pass,
into an empty cache, in a fresh subprocess (so compilation, weight loading and tokenization are
included, and the peak resident memory is that process's ``ru_maxrss``). Targets: <= 300 s and
<= 4 GB on a 2-core CPU, < 30 s on one GPU. No baseline (the published model runs under torch,
which this project does not install).

``deep_tweets_cell``: one configuration of ``figures/deep_tweets.py`` (n = 200, N = 2000,
n_val = 400, (p, q) chosen on the 3 x 3 validation grid: 13 linear heads) on cached features,
median over seeds after a warm-up cell; the default sweep has 390 such cells (60 of them with
the grid, the rest with one Enhanced-W2S head).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
import simulate.deep as deep
for name in deep.ENCODERS:
    deep.tweet_features(name, "full", progress=sys.stderr.isatty())
import jax
print(json.dumps({"seconds": time.perf_counter() - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "device": str(jax.devices()[0]), "texts": len(deep.load_tweets("full").texts)}))
"""


def deep_tweets_extract() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "W2S_CACHE": tmp}
        proc = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return {
        "ours_s": r["seconds"],
        "baseline_s": None,
        "ratio": None,
        "peak_mb": r["peak_mb"],
        "notes": (
            f"{r['texts']} tweets, 3 encoders in one pass, on {r['device']}; empty cache, fresh process "
            f"(imports, weight check, tokenization, compilation included); peak = ru_maxrss; load average "
            f"{load:.1f} at the end; targets <= 300 s and <= 4096 MB on CPU, < 30 s on a GPU"
        ),
    }


def deep_tweets_cell() -> dict:
    import jax

    import simulate.deep as deep
    from benchmarks import median_time

    for name in deep.ENCODERS:
        deep.tweet_features(name, "full")
    cfg = deep.DeepConfig(dataset="tweets", eta_l=0.1, eta_u=0.5)
    t0 = time.perf_counter()
    deep.run_w2s(cfg, key=jax.random.key(100), with_probes=False)  # warm-up: compilation
    compile_s = time.perf_counter() - t0
    med, times = median_time(lambda i: deep.run_w2s(cfg, key=jax.random.key(i), with_probes=False), 5, block=False)
    return {
        "ours_s": med,
        "baseline_s": None,
        "ratio": None,
        "compile_s": compile_s,
        "notes": (
            f"one cell, pair {cfg.pair}, n={cfg.n} N={cfg.N} n_val={cfg.n_val}, (p, q) on a "
            f"{len(deep.P_GRID)}x{len(deep.Q_GRID)} grid; median of 5 seeds {[round(t, 2) for t in times]} s "
            f"on {jax.devices()[0]}; warm-up (compilation included) {compile_s:.1f} s"
        ),
    }


BENCHMARKS = {"deep_tweets_extract": deep_tweets_extract, "deep_tweets_cell": deep_tweets_cell}
