r"""Deep path on real data: airline tweets with frozen all-MiniLM-L6-v2 encoders, and why.

For each weak/strong pair of :data:`simulate.deep.TEXT_PAIRS`, eta_l in {0.1, 0.3, 0.5} and an
eta_u grid on both sides of eta_l, several seeds (``simulate.deep.run_w2s``, default sizes
n = 200, N = 2000, n_val = 400, (p, q) chosen on the validation split). Diagnostics, printed
(``figures/out/deep_tweets_tables.md``) and plotted (``figures/out/deep_tweets.png``):

* linear-probe accuracy of the label and of the attribute from each backbone;
* the teacher's test accuracy per group against eta_l;
* the ceiling (strong head on true labels) against eta_u;
* per eta_l, the least-squares fit ``gain = a + b d + c d^2``, ``d = eta_u - eta_l``, done per
  seed; coefficients reported as mean ± standard error over seeds;
* the gain against eta_u and against d^2 (points left of eta_l drawn open);
* Enhanced-W2S against W2S in the mismatch settings (eta_o, 0.5) and (0.5, eta_o), eta_o = 0.1,
  with (p, q) chosen on the validation split (elsewhere in the grid Enhanced-W2S runs at the
  fixed (p, q) = :data:`FIXED_PQ` only, to save time; no table uses those cells).

Each (pair, eta_l, eta_u, seed) is one cell of a resumable store (``figures/data/deep_tweets_cells/HASH``,
named by the simulator's source).
``python -m figures.deep_tweets [--size fast|default|full] [--write-docs]`` runs the sweep alone
and prints the tables; ``--write-docs`` puts them into docs/deep.md between its markers.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from w2s.markers import MarkersError, write_between

from . import _common
from ._common import cells_dir

NAME = "deep_tweets"
ORDER = 80
ETA_O = 0.1
ETA_L = (0.1, 0.3, 0.5)
# eta_u: 0, 0.05, 0.1, ..., 0.9, 0.95, 1 (0.05 and 0.95 give eta_l = 0.1 two points on its left)
GRID = tuple(sorted({*np.round(np.linspace(0.0, 1.0, 11), 2).tolist(), 0.05, 0.95}))
SIZES = {
    "fast": dict(tweets="small", pairs=("minilm-static/minilm",), eta_l=(0.1, 0.5), eta_u=(0.0, 0.1, 0.5, 1.0),
                 seeds=(0,), nN=(20, 60, 20), steps=100),
    "default": dict(tweets="full", pairs=("minilm-static/minilm", "minilm-l1/minilm"), eta_l=ETA_L, eta_u=GRID,
                    seeds=(0, 1, 2, 3, 4), nN=(200, 2000, 400), steps=300),
    "full": dict(tweets="full", pairs=("minilm-static/minilm", "minilm-l1/minilm"), eta_l=ETA_L, eta_u=GRID,
                 seeds=tuple(range(10)), nN=(200, 2000, 400), steps=300),
}  # fmt: skip
MODELS = ("teacher", "w2s", "enhanced", "ceiling")
REMEDY = ((ETA_O, 0.5), (0.5, ETA_O))  # the paper's mismatch settings (eta_l, eta_u)
FIXED_PQ = (0.5, 0.7)  # Enhanced-W2S's (p, q) outside the remedy settings
METRICS = ("average", "worst_group")
FIELDS = (
    *(f"{m}_{k}" for m in MODELS for k in METRICS),
    *(f"teacher_g{g}" for g in range(4)),
    "enhanced_p",
    "enhanced_q",
    "kept_minority_fraction",
)
DOCS = Path(__file__).resolve().parent.parent / "docs" / "deep.md"


def _cell_key(config: dict, seed: int) -> str:
    from simulate.deep import feature_path

    feats = [feature_path(b, config["size"]).name for b in _pairs()[config["pair"]]]
    blob = json.dumps(
        {"config": config, "seed": seed, "features": feats, "fn": "simulate.deep:run_w2s"}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _pairs():
    import simulate.deep as deep

    return deep.TEXT_PAIRS


def params(size: str) -> dict:
    import simulate.deep as deep

    s = SIZES[size]
    feats = {b: deep.feature_path(b, s["tweets"]).name for pair in s["pairs"] for b in deep.TEXT_PAIRS[pair]}
    return {"sweep": s, "features": feats}


def compute(p: dict) -> dict[str, np.ndarray]:
    """Run (or read back) every cell; ``results[pair, eta_l, eta_u, seed, field]`` and the probes."""
    import jax

    import simulate.deep as deep
    from w2s.sweep import Store

    s = p["sweep"]
    n, N, n_val = s["nN"]
    store = Store(cells_dir(f"{NAME}_cells"))
    t0 = time.perf_counter()
    for b in {b for pair in s["pairs"] for b in deep.TEXT_PAIRS[pair]}:
        deep.tweet_features(b, s["tweets"], progress=sys.stderr.isatty())
    extract_s = time.perf_counter() - t0
    shape = (len(s["pairs"]), len(s["eta_l"]), len(s["eta_u"]), len(s["seeds"]))
    out = np.full((*shape, len(FIELDS)), np.nan)
    todo = list(np.ndindex(*shape))
    bar = None
    if sys.stderr.isatty():
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="deep tweets", unit="cell", file=sys.stderr)
    seconds = 0.0
    for ip, il, iu, isd in todo:
        el, eu = s["eta_l"][il], s["eta_u"][iu]
        # (p, q) are chosen on validation in the remedy settings; elsewhere fixed (FIXED_PQ), to save time
        pq = {} if (el, eu) in REMEDY else dict(zip(("p", "q"), FIXED_PQ, strict=True))
        config = deep.DeepConfig(
            dataset="tweets", pair=s["pairs"][ip], n=n, N=N, n_val=n_val, eta_l=el, eta_u=eu,
            steps=s["steps"], size=s["tweets"], **pq,
        )  # fmt: skip
        seed = s["seeds"][isd]
        key = _cell_key(config.to_dict(), seed)
        record = store.get(key)
        if record is None:
            t1 = time.perf_counter()
            result = deep.run_w2s(config, key=jax.random.key(seed), with_probes=False)
            dt = time.perf_counter() - t1
            seconds += dt
            record = {"config": config.to_dict(), "seed": seed, "result": result, "seconds": dt,
                      "device": str(jax.devices()[0])}  # fmt: skip
            store.put(key, record)
        r = record["result"]
        out[ip, il, iu, isd] = [
            *(r[m][k] for m in MODELS for k in METRICS),
            *r["teacher"]["group_acc"],
            r["enhanced"]["p"],
            r["enhanced"]["q"],
            r["pseudolabels"]["kept_minority_fraction"],
        ]
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    backbones = sorted({b for pair in s["pairs"] for b in deep.TEXT_PAIRS[pair]}, key=list(deep.ENCODERS).index)
    probe = [deep.probes("tweets", b, size=s["tweets"]) for b in backbones]
    probes = np.array([[pr["label"], pr["attribute"]] for pr in probe])
    return {
        "results": out,
        "pairs": np.array(s["pairs"]),
        "eta_l": np.array(s["eta_l"]),
        "eta_u": np.array(s["eta_u"]),
        "seeds": np.array(s["seeds"]),
        "fields": np.array(FIELDS),
        "backbones": np.array(backbones),
        "probes": probes,
        "compute_seconds": np.array(seconds),
        "extract_seconds": np.array(extract_s),
        "nN": np.array(s["nN"]),
    }


def field(data, name: str) -> np.ndarray:
    return data["results"][..., list(data["fields"]).index(name)]


def gains(data, metric: str, student: str = "w2s") -> np.ndarray:
    """Student minus teacher accuracy, ``[pair, eta_l, eta_u, seed]``."""
    return field(data, f"{student}_{metric}") - field(data, f"teacher_{metric}")


def mean_se(x: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error (ddof = 1) over ``axis``; se 0 with one sample."""
    k = x.shape[axis]
    return x.mean(axis=axis), (x.std(axis=axis, ddof=1) / np.sqrt(k) if k > 1 else np.zeros_like(x.mean(axis=axis)))


def quadratic_fit(d: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """Least-squares ``gain = a + b d + c d^2`` per seed.

    ``d (u,)`` and ``gain (u, seeds)`` -> ``(seeds, 3)`` rows (a, b, c)."""
    X = np.stack([np.ones_like(d), d, d**2], axis=1)
    coef, *_ = np.linalg.lstsq(X, gain, rcond=None)
    return coef.T


def fit_table(data) -> str:
    rows = [
        "| pair | eta_l | metric | a ± se | b ± se | c ± se | c / se | argmax eta_u (mean gain) "
        "| eta_u points < / > eta_l |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    eu = data["eta_u"]
    for ip, pair in enumerate(data["pairs"]):
        for il, el in enumerate(data["eta_l"]):
            for metric in METRICS:
                g = gains(data, metric)[ip, il]  # (u, seeds)
                coef = quadratic_fit(eu - el, g)
                m, se = mean_se(coef, axis=0)
                cells = [f"{m[i]:+.3f} ± {se[i]:.3f}" for i in range(3)]
                peak = eu[np.argmax(g.mean(axis=1))]
                rows.append(
                    f"| {pair} | {el:g} | {metric} | " + " | ".join(cells)
                    + f" | {m[2] / se[2]:+.1f} | {peak:g} | {int(np.sum(eu < el))} / {int(np.sum(eu > el))} |"
                )  # fmt: skip
    return "\n".join(rows)


def probe_table(data) -> str:
    rows = ["| backbone | label probe | attribute probe |", "|---|---|---|"]
    for b, (pl, pa) in zip(data["backbones"], data["probes"], strict=True):
        rows.append(f"| {b} | {pl:.3f} | {pa:.3f} |")
    return "\n".join(rows)


def teacher_table(data) -> str:
    rows = [
        "| pair | eta_l | teacher acc. (neg, other) | (neg, airline) | (pos, other) | (pos, airline) "
        "| ceiling avg at eta_u = 0 / 0.5 / 1 |",
        "|---|---|---|---|---|---|---|",
    ]
    # group g = 2y + a with y = 1 negative, a = 1 airline: g0 (pos, other), g1 (pos, airline),
    # g2 (neg, other), g3 (neg, airline)
    order = (2, 3, 0, 1)
    eu = list(np.round(data["eta_u"], 6))
    for ip, pair in enumerate(data["pairs"]):
        for il, el in enumerate(data["eta_l"]):
            cells = []
            for g in order:
                x = field(data, f"teacher_g{g}")[ip, il].reshape(-1)  # over eta_u and seeds (teacher ignores eta_u)
                m, se = mean_se(field(data, f"teacher_g{g}")[ip, il].mean(axis=0))
                cells.append(f"{x.mean():.3f} ± {se:.3f}")
            ceil = field(data, "ceiling_average")[ip, il].mean(axis=1)
            pick = [f"{ceil[eu.index(v)]:.3f}" if v in eu else "-" for v in (0.0, 0.5, 1.0)]
            rows.append(f"| {pair} | {el:g} | " + " | ".join(cells) + f" | {' / '.join(pick)} |")
    return "\n".join(rows)


def remedy_table(data) -> str:
    rows = [
        "| pair | (eta_l, eta_u) | W2S avg | Enhanced avg | diff avg ± se | W2S worst | Enhanced worst "
        "| diff worst ± se | chosen (p, q) | kept minority frac. |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    el_list, eu = list(np.round(data["eta_l"], 6)), list(np.round(data["eta_u"], 6))
    for ip, pair in enumerate(data["pairs"]):
        for el, u in ((ETA_O, 0.5), (0.5, ETA_O)):
            if el not in el_list or u not in eu:
                continue
            il, iu = el_list.index(el), eu.index(u)
            cells = []
            for metric in METRICS:
                w = field(data, f"w2s_{metric}")[ip, il, iu]
                e = field(data, f"enhanced_{metric}")[ip, il, iu]
                m, se = mean_se(e - w)
                cells += [f"{w.mean():.3f}", f"{e.mean():.3f}", f"{m:+.3f} ± {se:.3f}"]
            ps, qs = field(data, "enhanced_p")[ip, il, iu], field(data, "enhanced_q")[ip, il, iu]
            chosen = ", ".join(f"({p:g}, {q:g})" for p, q in zip(ps, qs, strict=True))
            kept = field(data, "kept_minority_fraction")[ip, il, iu].mean()
            rows.append(f"| {pair} | ({el:g}, {u:g}) | " + " | ".join(cells) + f" | {chosen} | {kept:.3f} |")
    return "\n".join(rows)


def corpus_table() -> str:
    """Markdown: the corpus by (sentiment, airline), raw and after de-duplication, and the used set."""
    import simulate.deep as deep

    counts = deep.raw_counts()
    _, y, a = deep.read_corpus()
    g = np.bincount(2 * y + a, minlength=4)
    rows = [
        "| sentiment | airline: raw | other: raw | airline: de-duplicated | other: de-duplicated |",
        "|---|---|---|---|---|",
        f"| negative (y = 1) | {counts[('negative', True)]} | {counts[('negative', False)]} | {g[3]} | {g[2]} |",
        f"| positive (y = 0) | {counts[('positive', True)]} | {counts[('positive', False)]} | {g[1]} | {g[0]} |",
        f"| neutral (dropped) | {counts[('neutral', True)]} | {counts[('neutral', False)]} | - | - |",
    ]
    minority = (g[1] + g[2]) / g.sum()
    return "\n".join(rows) + (
        f"\n\nDe-duplicated non-neutral tweets: {g.sum()} (minority fraction {minority:.3f}); used: "
        f"{deep.TWEET_SIZES['full'][0]} per group, {deep.TWEET_SIZES['full'][1]} of them test."
    )


def tables(data) -> str:
    n, N, n_val = (int(x) for x in data["nN"])
    return (
        f"### The corpus (attribute rule on the raw file and after de-duplication)\n\n{corpus_table()}\n\n"
        f"n = {n}, N = {N}, n_val = {n_val}; {len(data['seeds'])} seeds; mean ± standard error over seeds.\n\n"
        f"### Linear probes (test accuracy, balanced test set; chance 0.5)\n\n{probe_table(data)}\n\n"
        f"### Teacher per group (test) against eta_l, and the ceiling\n\n{teacher_table(data)}\n\n"
        f"### W2S gain = a + b (eta_u - eta_l) + c (eta_u - eta_l)^2, fitted per seed\n\n{fit_table(data)}\n\n"
        f"### Enhanced-W2S vs W2S in the mismatch settings (eta_o = {ETA_O:g}; accuracy difference)\n\n"
        f"{remedy_table(data)}\n"
    )


def plot(data, p: dict) -> dict:
    pairs, eu, els = data["pairs"], data["eta_u"], data["eta_l"]
    fig, axes = plt.subplots(len(pairs), 5, figsize=(18, 3.3 * len(pairs) + 0.6), squeeze=False,
                             constrained_layout=True)  # fmt: skip
    colours = plt.cm.viridis(np.linspace(0.1, 0.8, len(els)))
    labels = {2: "(neg, other)*", 3: "(neg, airline)", 0: "(pos, other)", 1: "(pos, airline)*"}
    for ip, pair in enumerate(pairs):
        ax = axes[ip, 0]
        x = np.arange(len(data["backbones"]))
        ax.bar(x - 0.2, data["probes"][:, 0], 0.4, label="label (negative)")
        ax.bar(x + 0.2, data["probes"][:, 1], 0.4, label="attribute (airline)")
        ax.set_xticks(x, data["backbones"], fontsize=8)
        ax.set_ylim(0.5, 1.0)
        ax.set_ylabel(f"{pair}\nlinear-probe accuracy", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
        ax = axes[ip, 1]
        for g in (3, 0, 2, 1):
            acc = field(data, f"teacher_g{g}")[ip].mean(axis=(1, 2))
            ax.plot(els, acc, marker="o", ls="-" if g in (0, 3) else "--", label=labels[g])
        ax.set_xlabel(r"$\eta_l$")
        ax.set_ylabel("teacher test acc. per group", fontsize=9)
        ax.legend(fontsize=7, title="* minority", title_fontsize=7)
        ax = axes[ip, 2]
        for metric, ls in zip(METRICS, ("-", "--"), strict=True):
            m, se = mean_se(field(data, f"ceiling_{metric}")[ip].mean(axis=0))
            ax.errorbar(eu, m, yerr=se, ls=ls, marker="o", ms=3, capsize=2, label=metric.replace("_", "-"))
        ax.set_xlabel(r"$\eta_u$")
        ax.set_ylabel("ceiling (strong head, true labels)", fontsize=9)
        ax.legend(fontsize=7)
        for il, el in enumerate(els):
            g = gains(data, "average")[ip, il]
            m, se = mean_se(g)
            axes[ip, 3].errorbar(eu, m, yerr=se, color=colours[il], marker="o", ms=3, capsize=2,
                                 label=rf"$\eta_l = {el:g}$")  # fmt: skip
            axes[ip, 3].axvline(el, color=colours[il], lw=0.6, ls=":")
            d = eu - el
            left = d < 0
            ax = axes[ip, 4]
            ax.errorbar(d[~left] ** 2, m[~left], yerr=se[~left], color=colours[il], marker="o", ms=4, ls="none",
                        capsize=2, label=rf"$\eta_l = {el:g}$")  # fmt: skip
            ax.errorbar(d[left] ** 2, m[left], yerr=se[left], color=colours[il], marker="o", ms=4, ls="none",
                        mfc="white", capsize=2)  # fmt: skip
            coef = quadratic_fit(d, g).mean(axis=0)
            for side in (-1, 1):
                dd = np.linspace(0, side * max(side * d.max(), side * d.min(), 0), 50)
                ax.plot(dd**2, coef[0] + coef[1] * dd + coef[2] * dd**2, color=colours[il], lw=0.8,
                        ls="-" if side > 0 else ":")  # fmt: skip
        axes[ip, 3].axhline(0, color="0.5", lw=0.8)
        axes[ip, 3].set_xlabel(r"$\eta_u$")
        axes[ip, 3].set_ylabel("W2S gain, average acc.", fontsize=9)
        axes[ip, 3].legend(fontsize=7)
        axes[ip, 4].axhline(0, color="0.5", lw=0.8)
        axes[ip, 4].set_xlabel(r"$(\eta_u - \eta_l)^2$ (open: $\eta_u < \eta_l$)")
        axes[ip, 4].set_ylabel("W2S gain, average acc.", fontsize=9)
    fig.suptitle(
        "Airline tweets, frozen all-MiniLM-L6-v2 encoders, linear heads: probes, teacher, ceiling, W2S gain "
        rf"(average accuracy at $\eta_t = 0.5$; {len(data['seeds'])} seeds, ±1 s.e.; lines: quadratic fit in "
        r"$\eta_u - \eta_l$)",
        fontsize=10,
    )
    return {NAME: fig, f"{NAME}_tables": f"# Deep path on airline tweets, size {p['size']!r}\n\n{tables(data)}"}


def write_docs(text: str, docs: Path = DOCS) -> None:
    """Replace the text between docs/deep.md's tweets markers with ``text``."""
    try:
        write_between(docs, "tweets", text)
    except MarkersError as e:
        raise SystemExit(f"deep_tweets: error: {e}") from None


def _cli(argv=None) -> int:
    import argparse

    import matplotlib

    matplotlib.use("Agg")
    parser = argparse.ArgumentParser(prog="python -m figures.deep_tweets", description=__doc__)
    parser.add_argument("--size", choices=tuple(SIZES), default="default")
    parser.add_argument("--write-docs", action="store_true", help="write the tables into docs/deep.md")
    args = parser.parse_args(argv)
    import jax

    t0 = time.perf_counter()
    me = sys.modules[__name__]
    data = _common.data(me, _common.parameters(me, args.size))
    wall = time.perf_counter() - t0
    cells = int(np.prod(data["results"].shape[:-1]))
    head = (
        f"Written by `python -m figures.deep_tweets --size {args.size} --write-docs` "
        f"({time.strftime('%Y-%m-%d')}, {jax.devices()[0].platform}).\n"
    )
    text = head + tables(data)
    print(
        f"deep tweets, size {args.size}: {cells} cells in {wall:.1f} s wall on {jax.devices()[0]} "
        f"({float(data['compute_seconds']):.1f} s in newly computed cells)"
    )
    print(text)
    if args.write_docs:
        write_docs(text)
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
