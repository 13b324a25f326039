"""Deep path, coloured digits (the fast controlled case): W2S gain against eta_u at eta_l in
{eta_o, 0.5} (the paper's Figure-4 trend), linear probes of each backbone, and
the Enhanced-W2S remedy table (Enhanced-W2S minus W2S per selection rule, average and
worst-group accuracy, mean ± s.e. over seeds per (n, N) with p-values from t(k - 1)) in the
paper's two mismatch settings (eta_l, eta_u) = (eta_o, 0.5) and (0.5, eta_o) and at
eta_u = eta_l; the trend table fits the gain's slope against (eta_u - eta_l)^2 per (n, N) and
seed and reports it with its s.e. and p-value. Enhanced-W2S runs only in :data:`REMEDY`.

Coloured digits, frozen weak/strong backbones, linear heads (simulate.deep, docs/deep.md).
Each configuration (pair, eta_l, eta_u, n, N, seed) is one cell (a :class:`w2s.sweep.Job`, run by
the sweep runner into the store ``figures/data/deep_cells/HASH``, named by the simulator's source,
``figures._common.cells_dir``): an interrupted sweep recomputes nothing that finished. The
figure's data step is cached as every figure's is (``figures._common.data``).

``python -m figures.deep_sweep [--size fast|default|full] [--fresh]`` runs the sweep alone,
prints its wall time, device and the remedy table; ``--fresh`` uses an empty store (timing).
"""

from __future__ import annotations

import os
import sys
import time

import matplotlib.pyplot as plt
import numpy as np

from ._common import cells_dir, deep_records, parameters

NAME = "deep_sweep"
ORDER = 70
GROUP = "deep"  # make deep, not make figures
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
REMEDY = ((ETA_O, 0.5), (0.5, ETA_O), (ETA_O, ETA_O), (0.5, 0.5))  # (eta_l, eta_u) where Enhanced-W2S runs
RULES = ("label_free", "balanced_val", "oracle")  # simulate.deep.RULES
METRICS = ("avg", "worst")
KEYS = {"avg": "average", "worst": "worst_group"}  # result keys of simulate.deep.run_w2s
FIELDS = (
    *(f"{m}_{k}" for m in ("teacher", "w2s", "ceiling") for k in METRICS),
    *(f"{r}_{k}" for r in RULES for k in METRICS),
    "pseudo_acc",
    "kept_minority_fraction",
)


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
    import simulate.deep as deep
    from w2s.sweep import Job

    s = p["sweep"]
    shape = (len(s["pairs"]), len(ETA_L), len(s["nN"]), len(s["eta_u"]), len(s["seeds"]))
    out = np.full((*shape, len(FIELDS)), np.nan)
    where = list(np.ndindex(*shape))
    jobs = []
    for ip, il, iN, iu, isd in where:
        pair = s["pairs"][ip]
        n, N = s["nN"][iN]
        config = deep.DeepConfig(
            dataset="digits", pair=pair, n=n, N=N, eta_l=ETA_L[il], eta_u=s["eta_u"][iu], steps=s["steps"]
        )
        backbones = [f"{b}-{deep.BACKBONES[b].key()}" for b in deep.PAIRS[pair]]
        remedy = any(np.isclose(ETA_L[il], el) and np.isclose(s["eta_u"][iu], eu) for el, eu in REMEDY)
        jobs.append(Job({"deep": config.to_dict(), "remedy": bool(remedy), "backbones": backbones}, s["seeds"][isd]))
    records = deep_records(jobs, store_root, desc="deep sweep")
    for index, record in zip(where, records, strict=True):
        r = record["result"]
        rules = r["enhanced"]["rules"] if "enhanced" in r else {}
        out[index] = [
            *(r[m][KEYS[k]] for m in ("teacher", "w2s", "ceiling") for k in METRICS),
            *(rules[rule][KEYS[k]] if rules else np.nan for rule in RULES for k in METRICS),
            r["pseudolabels"]["acc"],
            r["pseudolabels"].get("kept_minority_fraction", np.nan),
        ]
    seconds = sum(record["seconds"] for record in records)
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
    """Student minus teacher accuracy, ``[pair, eta_l, nN, eta_u, seed]`` (student: w2s or a rule)."""
    return _field(data, f"{student}_{metric}") - _field(data, f"teacher_{metric}")


def _fmt(x: np.ndarray) -> str:
    """``+0.012 ± 0.004 (p 0.01)``: mean ± s.e. of ``x`` over its last axis, p from t(k - 1)."""
    import simulate.deep as deep

    t = deep.t_test(x)
    p = float(t["p_value"])
    ptxt = "n/a" if not np.isfinite(p) else (f"{p:.2g}" if p >= 1e-3 else "<0.001")
    return f"{float(t['mean']):+.3f} ± {float(t['se']):.3f} (p {ptxt})"


def remedy_table(data) -> str:
    """Markdown: Enhanced-W2S minus W2S per rule, mean ± s.e. over seeds for each (n, N) separately."""
    eta_u = list(np.round(data["eta_u"], 6))
    rules = list(RULES)
    rows = [
        "| pair | (eta_l, eta_u) | (n, N) | W2S avg / worst | "
        + " | ".join(f"{r}{' (upper bound)' if r == 'oracle' else ''}: Enh - W2S avg; worst" for r in rules)
        + " | kept minority frac. |",
        "|---|---|---|---|" + "---|" * len(rules) + "---|",
    ]
    for ip, pair in enumerate(data["pairs"]):
        for el, eu in REMEDY:
            if eu not in eta_u:
                continue
            il, iu = list(data["eta_l"]).index(el), eta_u.index(eu)
            for iN, (n, N) in enumerate(data["nN"]):
                w = {m: _field(data, f"w2s_{m}")[ip, il, iN, iu] for m in METRICS}
                cells = [f"{_fmt(_field(data, f'{r}_avg')[ip, il, iN, iu] - w['avg'])}; "
                         f"{_fmt(_field(data, f'{r}_worst')[ip, il, iN, iu] - w['worst'])}" for r in rules]  # fmt: skip
                kept = _field(data, "kept_minority_fraction")[ip, il, iN, iu].mean()
                rows.append(
                    f"| {pair} | ({el:g}, {eu:g}) | ({n}, {N}) | {w['avg'].mean():.3f} / {w['worst'].mean():.3f} | "
                    + " | ".join(cells) + f" | {kept:.3f} |"
                )  # fmt: skip
    return "\n".join(rows)


def probe_table(data) -> str:
    """Markdown: linear-probe accuracy of the label and of the colour from each backbone."""
    rows = ["| backbone | label probe | colour probe |", "|---|---|---|"]
    for b, (pl, pa) in zip(data["backbones"], data["probes"], strict=True):
        rows.append(f"| {b} | {pl:.3f} | {pa:.3f} |")
    return "\n".join(rows)


def trend_table(data) -> str:
    """Markdown: the gain at eta_u = eta_l and the slope of the gain against (eta_u - eta_l)^2, fitted
    per (n, N) and seed; mean ± s.e. over those replicates, p from t(k - 1)."""
    import simulate.deep as deep

    rows = [
        "| pair | eta_l | metric | gain at eta_u = eta_l | slope vs (eta_u - eta_l)^2 | replicates |",
        "|---|---|---|---|---|---|",
    ]
    eta_u = data["eta_u"]
    for ip, pair in enumerate(data["pairs"]):
        for il, el in enumerate(data["eta_l"]):
            for metric in METRICS:
                g = gains(data, metric)[ip, il]  # (nN, u, seeds)
                reps = np.moveaxis(g, 1, 0).reshape(len(eta_u), -1)  # (u, nN * seeds)
                slope = deep.polyfit_per_seed((eta_u - el) ** 2, reps, 1)[:, 1]
                at = reps[np.argmin(np.abs(eta_u - el))]
                rows.append(f"| {pair} | {el:g} | {metric} | {_fmt(at)} | {_fmt(slope)} | {reps.shape[1]} |")
    return "\n".join(rows)


def plot(data, p: dict) -> dict:
    import simulate.deep as deep

    pairs, eta_u, nN = data["pairs"], data["eta_u"], data["nN"]
    fig, axes = plt.subplots(
        len(pairs), 4, figsize=(13, 2.7 * len(pairs) + 0.6), sharex=True, squeeze=False, constrained_layout=True
    )
    colours = plt.cm.viridis(np.linspace(0.1, 0.85, len(nN)))
    for ip, pair in enumerate(pairs):
        for jm, metric in enumerate(METRICS):
            g = gains(data, metric)
            ge = gains(data, metric, "balanced_val")
            for il, el in enumerate(data["eta_l"]):
                ax = axes[ip, 2 * jm + il]
                for iN, (n, N) in enumerate(nN):
                    t = deep.t_test(g[ip, il, iN])
                    m, se = t["mean"], t["se"]
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
                m = ge[ip, il].mean(axis=(0, 2))  # NaN where Enhanced-W2S was not run
                ax.plot(eta_u, m, color="C3", ls="none", marker="s", ms=5,
                        label="Enhanced-W2S, balanced_val rule (mean over n, N)")  # fmt: skip
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
        "## Remedy: Enhanced-W2S minus W2S (accuracy differences) per selection rule\n\n"
        f"Per (n, N) in {nN}: mean ± s.e. over seeds {[int(x) for x in data['seeds']]}, p two-sided from "
        f"t({len(data['seeds']) - 1}).\n\n{remedy_table(data)}\n\n"
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
        f"({float(data['compute_seconds']):.1f} s summed over the cells' own compute times, backbones loaded or "
        "pre-trained included)"
    )
    print(probe_table(data))
    print(remedy_table(data))
    print(trend_table(data))
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
