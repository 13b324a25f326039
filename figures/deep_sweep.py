"""Deep path, coloured digits (the fast controlled case): W2S gain against eta_u at eta_l in
{eta_o, 0.5} (the paper's Figure-4 trend), linear probes of each backbone, and
the Enhanced-W2S remedy table (relative improvement over vanilla W2S, average and worst-group
accuracy) in the paper's two mismatch settings (eta_l, eta_u) = (eta_o, 0.5) and (0.5, eta_o).

Coloured digits, frozen weak/strong backbones, linear heads (simulate.deep, docs/deep.md).
Each configuration (pair, eta_l, eta_u, n, N, seed) is one cell of a resumable store
(``w2s.sweep.Store`` under ``figures/data/deep_cells/HASH``, named by the simulator's source,
``figures._common.cells_dir``): an interrupted sweep recomputes nothing that finished. The
figure's data step is cached as every figure's is (``figures._common.data``).

``python -m figures.deep_sweep [--size fast|default|full] [--fresh]`` runs the sweep alone,
prints its wall time, device and the remedy table; ``--fresh`` uses an empty store (timing).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time

import matplotlib.pyplot as plt
import numpy as np

from ._common import cells_dir, parameters

NAME = "deep_sweep"
ORDER = 70
ETA_O = 0.1  # simulate.deep.ETA_O, the benchmark's natural minority fraction
SIZES = {
    "fast": dict(pairs=("mlp-tiny/mlp-wide",), eta_u=(0.0, 0.1, 0.5, 1.0), nN=((100, 400),), seeds=(0,), steps=150),
    "default": dict(
        pairs=("mlp-tiny/mlp-wide", "mlp-tiny/cnn-large", "cnn-tiny/cnn-large"),
        eta_u=(0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0),
        nN=((50, 300), (100, 600), (200, 500)),
        seeds=(0, 1, 2),
        steps=300,
    ),
    "full": dict(
        pairs=("mlp-tiny/mlp-wide", "mlp-tiny/cnn-large", "cnn-tiny/cnn-large"),
        eta_u=tuple(np.round(np.linspace(0.0, 1.0, 11), 2).tolist()),
        nN=((50, 300), (100, 600), (200, 500), (100, 250)),
        seeds=(0, 1, 2, 3, 4, 5, 6, 7),
        steps=300,
    ),
}
ETA_L = (ETA_O, 0.5)
METRICS = ("avg", "worst")
KEYS = {"avg": "average", "worst": "worst_group"}  # result keys of simulate.deep.run_w2s
FIELDS = tuple(f"{m}_{k}" for m in ("teacher", "w2s", "enhanced", "ceiling") for k in METRICS) + (
    "pseudo_acc",
    "kept_minority_fraction",
)


def _cell_key(config: dict, seed: int, backbones: list[str]) -> str:
    blob = json.dumps(
        {"config": config, "seed": seed, "backbones": backbones, "fn": "simulate.deep:run_w2s"}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def params(size: str) -> dict:
    import simulate.deep as deep

    s = SIZES[size]
    backbones = {b: deep.BACKBONES[b].key() for pair in s["pairs"] for b in deep.PAIRS[pair]}
    return {"sweep": s, "eta_l": ETA_L, "backbones": backbones}


def compute(p: dict) -> dict[str, np.ndarray]:
    """Run (or read back) every cell; ``results[pair, eta_l, nN, eta_u, seed, field]``."""
    return sweep(p, cells_dir("deep_cells"))


def sweep(p: dict, store_root: str | os.PathLike) -> dict[str, np.ndarray]:
    """:func:`compute` with the cells in the store at ``store_root``."""
    import jax

    import simulate.deep as deep
    from w2s.sweep import Store

    s = p["sweep"]
    store = Store(store_root)
    shape = (len(s["pairs"]), len(ETA_L), len(s["nN"]), len(s["eta_u"]), len(s["seeds"]))
    out = np.full((*shape, len(FIELDS)), np.nan)
    todo = list(np.ndindex(*shape))
    bar = None
    if sys.stderr.isatty():
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="deep sweep", unit="cell", file=sys.stderr)
    seconds = 0.0
    for ip, il, iN, iu, isd in todo:
        pair = s["pairs"][ip]
        n, N = s["nN"][iN]
        config = deep.DeepConfig(
            dataset="digits", pair=pair, n=n, N=N, eta_l=ETA_L[il], eta_u=s["eta_u"][iu], steps=s["steps"]
        )
        seed = s["seeds"][isd]
        backbones = [f"{b}-{deep.BACKBONES[b].key()}" for b in deep.PAIRS[pair]]
        key = _cell_key(config.to_dict(), seed, backbones)
        record = store.get(key)
        if record is None:
            t0 = time.perf_counter()
            result = deep.run_w2s(config, key=jax.random.key(seed), with_probes=False)
            dt = time.perf_counter() - t0
            seconds += dt
            record = {
                "config": config.to_dict(),
                "seed": seed,
                "backbones": backbones,
                "result": result,
                "seconds": dt,
                "device": str(jax.devices()[0]),
            }
            store.put(key, record)
        r = record["result"]
        out[ip, il, iN, iu, isd] = [r[m][KEYS[k]] for m in deep.MODELS for k in METRICS] + [
            r["pseudolabels"]["acc"],
            r["pseudolabels"]["kept_minority_fraction"],
        ]
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    backbones = sorted({b for pair in s["pairs"] for b in deep.PAIRS[pair]})
    probes = np.array([[deep.probes("digits", b)[k] for k in ("label", "attribute")] for b in backbones])
    return {
        "backbones": np.array(backbones),
        "probes": probes,
        "results": out,
        "eta_u": np.array(s["eta_u"]),
        "eta_l": np.array(ETA_L),
        "nN": np.array(s["nN"]),
        "seeds": np.array(s["seeds"]),
        "pairs": np.array(s["pairs"]),
        "fields": np.array(FIELDS),
        "compute_seconds": np.array(seconds),
    }


def _field(data, name):
    return data["results"][..., list(data["fields"]).index(name)]


def gains(data, metric: str, student: str = "w2s") -> np.ndarray:
    """W2S gain (student - teacher accuracy), ``[pair, eta_l, nN, eta_u, seed]``."""
    return _field(data, f"{student}_{metric}") - _field(data, f"teacher_{metric}")


def _mean_se(x: np.ndarray, axis) -> tuple[np.ndarray, np.ndarray]:
    axis = axis if isinstance(axis, tuple) else (axis,)
    count = np.prod([x.shape[a] for a in axis])
    mean = x.mean(axis=axis)
    se = x.std(axis=axis, ddof=1) / np.sqrt(count) if count > 1 else np.zeros_like(mean)
    return mean, se


def remedy_table(data) -> str:
    """Markdown: relative improvement (%) of Enhanced-W2S over W2S, mean ± s.e. over (n, N) and seeds."""
    eta_u = list(np.round(data["eta_u"], 6))
    rows = [
        "| pair | (eta_l, eta_u) | W2S avg | Enhanced avg | rel. impr. avg (%) | W2S worst | Enhanced worst "
        "| rel. impr. worst (%) | kept minority frac. |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    settings = [(ETA_O, 0.5), (0.5, ETA_O), (ETA_O, ETA_O), (0.5, 0.5)]
    for ip, pair in enumerate(data["pairs"]):
        for el, eu in settings:
            if eu not in eta_u:
                continue
            il, iu = list(data["eta_l"]).index(el), eta_u.index(eu)
            cells = []
            for metric in METRICS:
                w = _field(data, f"w2s_{metric}")[ip, il, :, iu]
                e = _field(data, f"enhanced_{metric}")[ip, il, :, iu]
                rel = 100.0 * (e - w) / w
                m, se = _mean_se(rel, (0, 1))
                cells += [f"{w.mean():.3f}", f"{e.mean():.3f}", f"{m:+.1f} ± {se:.1f}"]
            kept = _field(data, "kept_minority_fraction")[ip, il, :, iu].mean()
            rows.append(f"| {pair} | ({el:g}, {eu:g}) | " + " | ".join(cells) + f" | {kept:.3f} |")
    return "\n".join(rows)


def probe_table(data) -> str:
    """Markdown: linear-probe accuracy of the label and of the colour from each backbone."""
    rows = ["| backbone | label probe | colour probe |", "|---|---|---|"]
    for b, (pl, pa) in zip(data["backbones"], data["probes"], strict=True):
        rows.append(f"| {b} | {pl:.3f} | {pa:.3f} |")
    return "\n".join(rows)


def trend_table(data) -> str:
    """Markdown: where the gain peaks and its least-squares slope against (eta_u - eta_l)^2."""
    rows = [
        "| pair | eta_l | metric | argmax_eta_u gain | gain at eta_u = eta_l | gain at farthest eta_u "
        "| slope vs (eta_u - eta_l)^2 |",
        "|---|---|---|---|---|---|---|",
    ]
    eta_u = data["eta_u"]
    for ip, pair in enumerate(data["pairs"]):
        for il, el in enumerate(data["eta_l"]):
            for metric in METRICS:
                g = gains(data, metric)[ip, il].mean(axis=(0, 2))  # over (n, N) and seeds
                d2 = (eta_u - el) ** 2
                slope = np.polyfit(d2, g, 1)[0]
                at = g[np.argmin(np.abs(eta_u - el))]
                far = g[np.argmax(d2)]
                rows.append(
                    f"| {pair} | {el:g} | {metric} | {eta_u[np.argmax(g)]:g} | {at:+.3f} | {far:+.3f} | {slope:+.3f} |"
                )
    return "\n".join(rows)


def plot(data, p: dict) -> dict:
    pairs, eta_u, nN = data["pairs"], data["eta_u"], data["nN"]
    fig, axes = plt.subplots(
        len(pairs), 4, figsize=(13, 2.7 * len(pairs) + 0.6), sharex=True, squeeze=False, constrained_layout=True
    )
    colours = plt.cm.viridis(np.linspace(0.1, 0.85, len(nN)))
    for ip, pair in enumerate(pairs):
        for jm, metric in enumerate(METRICS):
            g = gains(data, metric)
            ge = gains(data, metric, "enhanced")
            for il, el in enumerate(data["eta_l"]):
                ax = axes[ip, 2 * jm + il]
                for iN, (n, N) in enumerate(nN):
                    m, se = _mean_se(g[ip, il, iN], 1)
                    ax.errorbar(
                        eta_u,
                        m,
                        yerr=se,
                        color=colours[iN],
                        marker="o",
                        ms=3,
                        lw=1.2,
                        capsize=2,
                        label=f"W2S, n={n}, N={N}",
                    )
                m, _ = _mean_se(ge[ip, il], (0, 2))
                ax.plot(eta_u, m, color="C3", ls="--", lw=1.2, label="Enhanced-W2S (mean over n, N)")
                ax.axvline(el, color="0.5", lw=0.8, ls=":")
                ax.axhline(0.0, color="0.5", lw=0.8)
                if ip == 0:
                    ax.set_title(
                        rf"{'average' if metric == 'avg' else 'worst-group'} acc., $\eta_l = {el:g}$", fontsize=10
                    )
                if ip == len(pairs) - 1:
                    ax.set_xlabel(r"$\eta_u$")
                if jm == 0 and il == 0:
                    ax.set_ylabel(f"{pair}\nW2S gain (student - teacher)", fontsize=9)
    axes[0, 0].legend(fontsize=7, loc="best")
    fig.suptitle(
        r"Coloured digits, frozen backbones, linear heads: W2S gain vs $\eta_u$ "
        rf"(average accuracy at $\eta_t = 0.5$; {len(data['seeds'])} seeds, ±1 s.e.)",
        fontsize=10,
    )
    nN = [tuple(map(int, x)) for x in data["nN"]]
    tables = (
        f"# Deep path, size {p['size']!r}\n\n"
        f"## Linear probes (test accuracy, both colours; chance 0.5)\n\n{probe_table(data)}\n\n"
        "## Remedy: Enhanced-W2S vs W2S (relative improvement, %)\n\n"
        f"(p, q) chosen on a validation split per cell; mean ± s.e. over (n, N) in {nN} "
        f"and seeds {[int(x) for x in data['seeds']]}; accuracies averaged likewise.\n\n{remedy_table(data)}\n\n"
        f"## Trend: W2S gain against eta_u\n\n{trend_table(data)}\n"
    )
    return {NAME: fig, f"{NAME}_tables": tables}


def _cli(argv=None) -> int:
    import argparse
    import tempfile

    import matplotlib

    matplotlib.use("Agg")
    parser = argparse.ArgumentParser(prog="python -m figures.deep_sweep", description=__doc__)
    parser.add_argument("--size", choices=tuple(SIZES), default="default")
    parser.add_argument("--fresh", action="store_true", help="ignore finished cells (an empty store): for timing")
    args = parser.parse_args(argv)
    import jax

    t0 = time.perf_counter()
    p = parameters(sys.modules[__name__], args.size)
    with tempfile.TemporaryDirectory() as tmp:
        data = sweep(p, tmp if args.fresh else cells_dir("deep_cells"))
    wall = time.perf_counter() - t0
    cells = int(np.prod(data["results"].shape[:-1]))
    print(
        f"deep sweep, size {args.size}: {cells} cells in {wall:.1f} s wall on {jax.devices()[0]} "
        f"({float(data['compute_seconds']):.1f} s in newly computed cells, backbones loaded or pre-trained included)"
    )
    print(probe_table(data))
    print(remedy_table(data))
    print(trend_table(data))
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
