r"""Deep path on real data: airline tweets with frozen sentence encoders, and why.

For each weak/strong pair of :data:`simulate.deep.TEXT_PAIRS`, eta_l in {0.1, 0.3, 0.5} and
eta_u in {0, 0.1, ..., 1}, ten seeds (``simulate.deep.run_w2s``, default sizes n = 200 of which
n_bal = 40 form the balanced validation set, N = 2000, n_val = 400; each seed scores on its own
bootstrap draw of the test set, so the spread over seeds includes the test set's sampling
error). Diagnostics, printed (``figures/out/deep_tweets_tables.md``) and plotted
(``figures/out/deep_tweets.png``, ``figures/out/deep_tweets_remedy.png``):

* linear-probe accuracy of the label and of the attribute from each backbone;
* the teacher's test accuracy per group against eta_l, and the ceiling;
* PGR = (W2S - teacher)/(ceiling - teacher) and the gain at eta_u = eta_l, hard and soft labels;
* per eta_l, the least-squares fit ``gain = a + b d + c d^2``, ``d = eta_u - eta_l``, done per
  seed, on the interior eta_u in [0.1, 0.9] (the headline) and on every eta_u; ``c`` as mean ±
  s.e. over seeds with its two-sided p-value from t(k - 1);
* Enhanced-W2S against W2S in the mismatch settings (eta_o, 0.5) and (0.5, eta_o), eta_o = 0.1,
  hard and soft labels: each selection rule's (p, q) (label_free, balanced_val, and oracle, an
  upper bound), the random-subset control at the same (p, q), and the whole (p, q) grid on test.
  Elsewhere in the sweep Enhanced-W2S is not run (``run_w2s(..., remedy=False)``).

Each (pair, eta_l, eta_u, labels, remedy, seed) is one cell (a :class:`w2s.sweep.Job`, run by the
sweep runner into the store ``figures/data/deep_tweets_cells/HASH``, named by the simulator's source).
``python -m figures.deep_tweets [--size fast|default|full] [--write-docs]`` runs the sweep alone
and prints the tables; ``--write-docs`` puts them into docs/deep.md between its markers.
The tables are a deterministic function of the cells (no argmax over noisy means; rounding
only in the printing), so regenerating them from the same cells gives the same text.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from . import _common
from ._common import cells_dir, deep_records

NAME = "deep_tweets"
ORDER = 80
GROUP = "deep"  # make deep, not make figures
ETA_O = 0.1
ETA_L = (0.1, 0.3, 0.5)
GRID = tuple(np.round(np.linspace(0.0, 1.0, 11), 2).tolist())  # eta_u: 0, 0.1, ..., 1
INTERIOR = (0.1, 0.9)  # the headline fit's eta_u range: the ends, where label and attribute coincide, left out
SIZES = {
    "fast": dict(
        tweets="small",
        pairs=("minilm-static/minilm",),
        eta_l=(0.1, 0.5),
        eta_u=(0.0, 0.1, 0.5, 0.9, 1.0),
        seeds=(0, 1),
        nN=(30, 60, 20, 8),
        steps=100,
    ),
    "default": dict(
        tweets="full", pairs=None, eta_l=ETA_L, eta_u=GRID, seeds=tuple(range(10)), nN=(200, 2000, 400, 40), steps=300
    ),
    "full": dict(
        tweets="full",
        pairs=None,
        eta_l=ETA_L,
        eta_u=tuple(sorted({*GRID, 0.05, 0.95})),
        seeds=tuple(range(20)),
        nN=(200, 2000, 400, 40),
        steps=300,
    ),
}  # fmt: skip  (pairs None: every tweets pair of the registry)
MODELS = ("teacher", "w2s", "ceiling")
REMEDY = ((ETA_O, 0.5), (0.5, ETA_O))  # the paper's mismatch settings (eta_l, eta_u)
LABELS = ("hard", "soft")
METRICS = ("average", "worst_group")
FIELDS = (*(f"{m}_{k}" for m in MODELS for k in METRICS), *(f"teacher_g{g}" for g in range(4)))
RULE_KEYS = ("average", "worst_group", "p", "q", "random_average", "random_worst_group")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "deep.md"


def _rules():
    import simulate.deep as deep

    return deep.RULES


def r_fields() -> tuple[str, ...]:
    """Fields of a remedy cell: W2S, teacher, ceiling; per rule :data:`RULE_KEYS`; the kept minority fraction."""
    return (
        *(f"{m}_{k}" for m in MODELS for k in METRICS),
        *(f"{r}_{k}" for r in _rules() for k in RULE_KEYS),
        "kept_minority_fraction",
    )


def _pairs(s: dict) -> tuple[str, ...]:
    import simulate.deep as deep

    return tuple(s["pairs"]) if s["pairs"] is not None else tuple(deep.TEXT_PAIRS)


def params(size: str) -> dict:
    import simulate.deep as deep

    s = {**SIZES[size]}
    s["pairs"] = _pairs(s)
    feats = {b: deep.feature_path(b, s["tweets"]).name for pair in s["pairs"] for b in deep.TEXT_PAIRS[pair]}
    return {"sweep": s, "features": feats, "grid": {"p": list(deep.P_GRID), "q": list(deep.Q_GRID)}}


def compute(p: dict) -> dict[str, np.ndarray]:
    """Run (or read back) every cell.

    Returns ``results[pair, eta_l, eta_u, seed, FIELDS]`` (hard labels, no remedy),
    ``soft[pair, eta_l, seed, FIELDS]`` (soft labels at eta_u = eta_l),
    ``remedy[pair, setting, labels, seed, R_FIELDS]`` and
    ``grid[pair, setting, labels, seed, p, q, 4]`` (Enhanced average, worst group, random-subset
    average, worst group on test), the probes and timings.
    """
    import simulate.deep as deep
    from w2s.sweep import Job

    s = p["sweep"]
    pairs = s["pairs"]
    n, N, n_val, n_bal = s["nN"]
    t0 = time.perf_counter()
    for b in {b for pair in pairs for b in deep.TEXT_PAIRS[pair]}:
        deep.tweet_features(b, s["tweets"], progress=sys.stderr.isatty())
    extract_s = time.perf_counter() - t0
    P, Q = deep.P_GRID, deep.Q_GRID
    rf = r_fields()
    seeds = s["seeds"]
    results = np.full((len(pairs), len(s["eta_l"]), len(s["eta_u"]), len(seeds), len(FIELDS)), np.nan)
    soft = np.full((len(pairs), len(s["eta_l"]), len(seeds), len(FIELDS)), np.nan)
    remedy = np.full((len(pairs), len(REMEDY), len(LABELS), len(seeds), len(rf)), np.nan)
    grid = np.full((len(pairs), len(REMEDY), len(LABELS), len(seeds), len(P), len(Q), 4), np.nan)
    todo = []  # (where, config fields, seed, remedy)
    for ip, pair in enumerate(pairs):
        for isd, seed in enumerate(seeds):
            for il, el in enumerate(s["eta_l"]):
                for iu, eu in enumerate(s["eta_u"]):
                    todo.append((("results", ip, il, iu, isd), dict(pair=pair, eta_l=el, eta_u=eu), seed, False))
                todo.append((("soft", ip, il, isd), dict(pair=pair, eta_l=el, eta_u=el, labels="soft"), seed, False))
            for ir, (el, eu) in enumerate(REMEDY):
                for ilab, lab in enumerate(LABELS):
                    todo.append((("remedy", ip, ir, ilab, isd), dict(pair=pair, eta_l=el, eta_u=eu, labels=lab), seed,
                                 True))  # fmt: skip
    jobs = []
    for _, fields, seed, with_remedy in todo:
        config = deep.DeepConfig(dataset="tweets", n=n, N=N, n_val=n_val, n_bal=n_bal, steps=s["steps"],
                                 size=s["tweets"], **fields)  # fmt: skip
        feats = [deep.feature_path(b, config.size).name for b in deep.TEXT_PAIRS[config.pair]]
        jobs.append(Job({"deep": config.to_dict(), "remedy": with_remedy, "features": feats}, seed))
    records = deep_records(jobs, cells_dir(f"{NAME}_cells"), desc="deep tweets")
    seconds = {"plain": 0.0, "remedy": 0.0}
    count = {"plain": 0, "remedy": 0}
    for (where, _, _, with_remedy), record in zip(todo, records, strict=True):
        kind = "remedy" if with_remedy else "plain"
        seconds[kind] += record["seconds"]
        count[kind] += 1
        r = record["result"]
        if where[0] in ("results", "soft"):
            row = [*(r[m][k] for m in MODELS for k in METRICS), *r["teacher"]["group_acc"]]
            (results if where[0] == "results" else soft)[where[1:]] = row
        else:
            rules = r["enhanced"]["rules"]
            remedy[where[1:]] = [
                *(r[m][k] for m in MODELS for k in METRICS),
                *(rules[rule][k] for rule in _rules() for k in RULE_KEYS),
                r["pseudolabels"]["kept_minority_fraction"],
            ]
            for ipp, pp in enumerate(P):
                for iq, qq in enumerate(Q):
                    g = r["enhanced"]["grid"][f"p={pp:g},q={qq:g}"]
                    grid[(*where[1:], ipp, iq)] = [g["average"], g["worst_group"], g["random_average"],
                                                   g["random_worst_group"]]  # fmt: skip
    backbones = sorted({b for pair in pairs for b in deep.TEXT_PAIRS[pair]}, key=list(deep.ENCODERS).index)
    probe = [deep.probes("tweets", b, size=s["tweets"]) for b in backbones]
    return {
        "results": results,
        "soft": soft,
        "remedy": remedy,
        "grid": grid,
        "pairs": np.array(pairs),
        "eta_l": np.array(s["eta_l"]),
        "eta_u": np.array(s["eta_u"]),
        "seeds": np.array(seeds),
        "fields": np.array(FIELDS),
        "r_fields": np.array(rf),
        "p_grid": np.array(P),
        "q_grid": np.array(Q),
        "rules": np.array(_rules()),
        "backbones": np.array(backbones),
        "probes": np.array([[pr["label"], pr["attribute"]] for pr in probe]),
        "compute_seconds": np.array(seconds["plain"] + seconds["remedy"]),
        "cell_seconds": np.array(
            [seconds["plain"] / max(count["plain"], 1), seconds["remedy"] / max(count["remedy"], 1)]
        ),
        "extract_seconds": np.array(extract_s),
        "nN": np.array(s["nN"]),
    }


# ------------------------------------------------------------------------------- analysis
def field(data, name: str, key: str = "results") -> np.ndarray:
    names = list(data["fields"] if key in ("results", "soft") else data["r_fields"])
    return data[key][..., names.index(name)]


def gains(data, metric: str) -> np.ndarray:
    """W2S minus teacher accuracy, ``[pair, eta_l, eta_u, seed]``."""
    return field(data, f"w2s_{metric}") - field(data, f"teacher_{metric}")


def t_test(x, axis: int = -1) -> dict[str, np.ndarray]:
    import simulate.deep as deep

    return deep.t_test(x, axis=axis)


def fmt(t: dict, digits: int = 3) -> str:
    """``+0.012 ± 0.004 (p 0.01)`` from a :func:`t_test` of one quantity."""
    p = float(t["p_value"])
    ptxt = "n/a" if not np.isfinite(p) else (f"{p:.2g}" if p >= 1e-3 else "<0.001")
    return f"{float(t['mean']):+.{digits}f} ± {float(t['se']):.{digits}f} (p {ptxt})"


def curvature(data, ip: int, il: int, metric: str, interior: bool) -> dict:
    """``c`` of ``gain = a + b d + c d^2`` fitted per seed, tested over the seeds."""
    import simulate.deep as deep

    eu = data["eta_u"]
    keep = (eu >= INTERIOR[0] - 1e-9) & (eu <= INTERIOR[1] + 1e-9) if interior else np.ones(eu.shape, bool)
    g = gains(data, metric)[ip, il][keep]  # (u, seeds)
    coef = deep.polyfit_per_seed(eu[keep] - data["eta_l"][il], g, 2)
    return t_test(coef[:, 2])


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
    # g = 2y + a, y = 1 negative, a = 1 airline: g2 (neg, other), g3 (neg, airline), g0 (pos, other), g1 (pos, airline)
    eu = list(np.round(data["eta_u"], 6))
    for ip, pair in enumerate(data["pairs"]):
        for il, el in enumerate(data["eta_l"]):
            cells = []
            for g in (2, 3, 0, 1):
                t = t_test(field(data, f"teacher_g{g}")[ip, il].mean(axis=0))  # per seed, averaged over eta_u draws
                cells.append(f"{float(t['mean']):.3f} ± {float(t['se']):.3f}")
            ceil = field(data, "ceiling_average")[ip, il].mean(axis=1)
            pick = [f"{ceil[eu.index(v)]:.3f}" if v in eu else "-" for v in (0.0, 0.5, 1.0)]
            rows.append(f"| {pair} | {el:g} | " + " | ".join(cells) + f" | {' / '.join(pick)} |")
    return "\n".join(rows)


def pgr_table(data) -> str:
    """W2S at eta_u = eta_l: teacher, W2S, ceiling, the gain and PGR (hard labels) and the soft-label gain."""
    rows = [
        "| pair | eta_l | teacher avg | W2S avg | ceiling avg | gain avg (hard) | PGR avg (hard) "
        "| gain avg (soft) | gain worst (hard) | gain worst (soft) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    eu = list(np.round(data["eta_u"], 6))
    for ip, pair in enumerate(data["pairs"]):
        for il, el in enumerate(data["eta_l"]):
            if round(float(el), 6) not in eu:
                continue
            iu = eu.index(round(float(el), 6))
            t, w, c = (field(data, f"{m}_average")[ip, il, iu] for m in MODELS)
            pgr = (w - t) / (c - t)
            soft = {m: field(data, f"w2s_{m}", "soft")[ip, il] - field(data, f"teacher_{m}", "soft")[ip, il]
                    for m in METRICS}  # fmt: skip
            hard_w = gains(data, "worst_group")[ip, il, iu]
            rows.append(
                f"| {pair} | {el:g} | {t.mean():.3f} | {w.mean():.3f} | {c.mean():.3f} | {fmt(t_test(w - t))} "
                f"| {fmt(t_test(pgr), 2)} | {fmt(t_test(soft['average']))} | {fmt(t_test(hard_w))} "
                f"| {fmt(t_test(soft['worst_group']))} |"
            )
    return "\n".join(rows)


def fit_table(data) -> str:
    rows = [
        "| pair | eta_l | metric | c, interior eta_u in [0.1, 0.9] (headline) | c, all eta_u "
        "| gain at eta_u = eta_l | mean gains over eta_u: min .. max |",
        "|---|---|---|---|---|---|---|",
    ]
    eu = list(np.round(data["eta_u"], 6))
    for ip, pair in enumerate(data["pairs"]):
        for il, el in enumerate(data["eta_l"]):
            for metric in METRICS:
                g = gains(data, metric)[ip, il]
                at = fmt(t_test(g[eu.index(round(float(el), 6))])) if round(float(el), 6) in eu else "-"
                m = g.mean(axis=1)
                rows.append(
                    f"| {pair} | {el:g} | {metric} | {fmt(curvature(data, ip, il, metric, True))} "
                    f"| {fmt(curvature(data, ip, il, metric, False))} | {at} | {m.min():+.3f} .. {m.max():+.3f} |"
                )
    return "\n".join(rows)


def remedy_table(data) -> str:
    """Per pair, mismatch setting and labels: Enhanced-W2S minus W2S per rule, and the random control."""
    rows = [
        "| pair | (eta_l, eta_u) | labels | W2S avg / worst | rule | chosen (p, q), most often "
        "| Enhanced - W2S, avg | Enhanced - W2S, worst | random - W2S, avg | random - W2S, worst |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ip, pair in enumerate(data["pairs"]):
        for ir, (el, eu) in enumerate(REMEDY):
            for ilab, lab in enumerate(LABELS):
                w = {m: field(data, f"w2s_{m}", "remedy")[ip, ir, ilab] for m in METRICS}
                for rule in data["rules"]:
                    d = [t_test(field(data, f"{rule}_{m}", "remedy")[ip, ir, ilab] - w[m]) for m in METRICS]
                    r = [t_test(field(data, f"{rule}_random_{m}", "remedy")[ip, ir, ilab] - w[m]) for m in METRICS]
                    ps, qs = (field(data, f"{rule}_{k}", "remedy")[ip, ir, ilab] for k in ("p", "q"))
                    pq, counts = np.unique(np.stack([ps, qs], 1), axis=0, return_counts=True)
                    top = pq[np.argmax(counts)]  # the modal choice, first in (p, q) order on ties
                    name = f"{rule} (upper bound)" if rule == "oracle" else rule
                    rows.append(
                        f"| {pair} | ({el:g}, {eu:g}) | {lab} | {w['average'].mean():.3f} / "
                        f"{w['worst_group'].mean():.3f} | {name} | ({top[0]:g}, {top[1]:g}) {counts.max()}/{len(ps)} "
                        f"| {fmt(d[0])} | {fmt(d[1])} | {fmt(r[0])} | {fmt(r[1])} |"
                    )
    return "\n".join(rows)


def grid_table(data, ip: int, ir: int, ilab: int = 0) -> str:
    """The whole (p, q) grid on test: Enhanced minus W2S (worst group; average), and the random
    control minus W2S at the same (p, q), mean ± s.e. over seeds."""
    P, Q = data["p_grid"], data["q_grid"]
    w = {m: field(data, f"w2s_{m}", "remedy")[ip, ir, ilab] for m in METRICS}
    g = data["grid"][ip, ir, ilab]  # (seeds, P, Q, 4)
    head = "| p | " + " | ".join(f"q = {q:g}" + (" (CE)" if q == 0 else "") for q in Q) + " |"
    rows = [head, "|---|" + "---|" * len(Q)]
    for ipp, pp in enumerate(P):
        for what, col, label in (("worst", 1, "Enhanced"), ("worst", 3, "random"), ("avg", 0, "Enhanced"),
                                 ("avg", 2, "random")):  # fmt: skip
            m = "worst_group" if what == "worst" else "average"
            cells = []
            for iq in range(len(Q)):
                t = t_test(g[:, ipp, iq, col] - w[m])
                cells.append(f"{float(t['mean']):+.3f} ± {float(t['se']):.3f}")
            rows.append(f"| {pp:g}: {label} {what} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _signs(tests: list[dict], alpha: float = 0.05) -> str:
    """``"a above 0, b below 0, c not significant (of n)"`` at two-sided level ``alpha``."""
    p = np.array([float(t["p_value"]) for t in tests])
    m = np.array([float(t["mean"]) for t in tests])
    sig = np.isfinite(p) & (p < alpha)
    up, down = int(np.sum(sig & (m > 0))), int(np.sum(sig & (m < 0)))
    return f"{up} above 0, {down} below 0, {len(tests) - up - down} not significant (of {len(tests)})"


def summary(data) -> str:
    """Generated bullet lines: how many rows of each table pass the t test, by sign (p < 0.05)."""
    eu = list(np.round(data["eta_u"], 6))
    pairs, els = data["pairs"], data["eta_l"]
    lines = []
    probe = dict(zip(data["backbones"], data["probes"][:, 0], strict=True))
    import simulate.deep as deep

    gaps = [f"{pair} {probe[deep.TEXT_PAIRS[pair][1]] - probe[deep.TEXT_PAIRS[pair][0]]:+.3f}" for pair in pairs]
    lines.append("* label-probe gap, strong minus weak: " + ", ".join(gaps))
    for metric in METRICS:
        at = [t_test(gains(data, metric)[ip, il, eu.index(round(float(el), 6))])
              for ip in range(len(pairs)) for il, el in enumerate(els) if round(float(el), 6) in eu]  # fmt: skip
        lines.append(f"* W2S gain at eta_u = eta_l, {metric} (hard labels; pair x eta_l rows): {_signs(at)}")
        soft = [t_test(field(data, f"w2s_{metric}", "soft")[ip, il] - field(data, f"teacher_{metric}", "soft")[ip, il])
                for ip in range(len(pairs)) for il in range(len(els))]  # fmt: skip
        lines.append(f"* W2S gain at eta_u = eta_l, {metric} (soft labels): {_signs(soft)}")
    for metric in METRICS:
        for interior, what in ((True, "interior eta_u in [0.1, 0.9]"), (False, "all eta_u")):
            cs = [curvature(data, ip, il, metric, interior) for ip in range(len(pairs)) for il in range(len(els))]
            lines.append(f"* curvature c, {metric}, {what}: {_signs(cs)}")
    for ilab, lab in enumerate(LABELS):
        for rule in data["rules"]:
            for metric in METRICS:
                d, c = [], []
                for ip in range(len(pairs)):
                    for ir in range(len(REMEDY)):
                        e = field(data, f"{rule}_{metric}", "remedy")[ip, ir, ilab]
                        d.append(t_test(e - field(data, f"w2s_{metric}", "remedy")[ip, ir, ilab]))
                        c.append(t_test(e - field(data, f"{rule}_random_{metric}", "remedy")[ip, ir, ilab]))
                bound = " (upper bound)" if rule == "oracle" else ""
                lines.append(
                    f"* Enhanced - W2S, {rule}{bound}, {metric}, {lab} labels (pair x setting cells): {_signs(d)}; "
                    f"Enhanced - random subset at the same (p, q): {_signs(c)}"
                )
    return "\n".join(lines)


def tables(data) -> str:
    n, N, n_val, n_bal = (int(x) for x in data["nN"])
    k = len(data["seeds"])
    ir = {REMEDY[0]: 0, REMEDY[1]: 1}
    grids = "".join(
        f"#### {pair}, (eta_l, eta_u) = ({el:g}, {eu:g}), hard labels\n\n{grid_table(data, ip, ir[(el, eu)])}\n\n"
        for ip, pair in enumerate(data["pairs"])
        for el, eu in REMEDY
    )
    return (
        f"n = {n} labels ({n - n_bal} for the teacher, {n_bal} for the balanced validation set), N = {N}, "
        f"n_val = {n_val} (label-free validation); {k} seeds, each scored on its own bootstrap draw of the test set; "
        f"mean ± standard error over seeds, p: two-sided, t with {k - 1} degrees of freedom.\n\n"
        f"### Summary: rows passing the t test at p < 0.05, by sign\n\n{summary(data)}\n\n"
        f"### Linear probes (test accuracy, balanced test set; chance 0.5)\n\n{probe_table(data)}\n\n"
        f"### Teacher per group (test) against eta_l, and the ceiling\n\n{teacher_table(data)}\n\n"
        f"### W2S at eta_u = eta_l: gain, PGR = (W2S - teacher) / (ceiling - teacher), soft labels\n\n"
        f"{pgr_table(data)}\n\n"
        f"### Curvature: gain = a + b (eta_u - eta_l) + c (eta_u - eta_l)^2, fitted per seed\n\n{fit_table(data)}\n\n"
        f"### Enhanced-W2S vs W2S in the mismatch settings (eta_o = {ETA_O:g}; accuracy differences)\n\n"
        f"{remedy_table(data)}\n\n"
        f"### The whole (p, q) grid on test (hard labels): Enhanced-W2S minus W2S, and the random-subset "
        f"control minus W2S\n\n{grids}"
    ).rstrip() + "\n"


def plot(data, p: dict) -> dict:
    import simulate.deep as deep

    pairs, eu, els = data["pairs"], data["eta_u"], data["eta_l"]
    k = len(data["seeds"])
    fig, axes = plt.subplots(len(pairs), 5, figsize=(18, 3.3 * len(pairs) + 0.6), squeeze=False,
                             constrained_layout=True)  # fmt: skip
    colours = plt.cm.viridis(np.linspace(0.1, 0.8, len(els)))
    labels = {2: "(neg, other)*", 3: "(neg, airline)", 0: "(pos, other)", 1: "(pos, airline)*"}
    for ip, pair in enumerate(pairs):
        ax = axes[ip, 0]
        x = np.arange(len(data["backbones"]))
        ax.bar(x - 0.2, data["probes"][:, 0], 0.4, label="label (negative)")
        ax.bar(x + 0.2, data["probes"][:, 1], 0.4, label="attribute (airline)")
        ax.set_xticks(x, data["backbones"], fontsize=7, rotation=15)
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
            t = t_test(field(data, f"ceiling_{metric}")[ip].mean(axis=0))
            ax.errorbar(eu, t["mean"], yerr=t["se"], ls=ls, marker="o", ms=3, capsize=2,
                        label=metric.replace("_", "-"))  # fmt: skip
        ax.set_xlabel(r"$\eta_u$")
        ax.set_ylabel("ceiling (strong head, true labels)", fontsize=9)
        ax.legend(fontsize=7)
        for il, el in enumerate(els):
            g = gains(data, "average")[ip, il]
            t = t_test(g)
            m, se = t["mean"], t["se"]
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
            inside = (eu >= INTERIOR[0] - 1e-9) & (eu <= INTERIOR[1] + 1e-9)
            coef = deep.polyfit_per_seed(d[inside], g[inside], 2).mean(axis=0)
            for side in (-1, 1):
                dd = np.linspace(0, side * max(side * d[inside].max(), side * d[inside].min(), 0), 50)
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
        "Airline tweets, frozen sentence encoders, linear heads: probes, teacher, ceiling, W2S gain "
        rf"(average accuracy at $\eta_t = 0.5$; {k} seeds with bootstrap test draws, ±1 s.e.; lines: quadratic "
        r"fit on the interior $\eta_u \in [0.1, 0.9]$)",
        fontsize=10,
    )
    # the remedy: Enhanced - W2S on the whole (p, q) grid, worst group and average, hard labels
    P, Q = data["p_grid"], data["q_grid"]
    fig2, ax2 = plt.subplots(len(pairs), 4, figsize=(15, 3.0 * len(pairs) + 0.8), squeeze=False,
                             constrained_layout=True)  # fmt: skip
    for ip, pair in enumerate(pairs):
        for ir, (el, u) in enumerate(REMEDY):
            for jm, (metric, col) in enumerate((("worst_group", 1), ("average", 0))):
                ax = ax2[ip, 2 * ir + jm]
                w = field(data, f"w2s_{metric}", "remedy")[ip, ir, 0]
                diff = (data["grid"][ip, ir, 0, :, :, :, col] - w[:, None, None]).mean(axis=0)
                lim = max(float(np.nanmax(np.abs(diff))), 1e-3)
                im = ax.imshow(diff, cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
                for (i, j), v in np.ndenumerate(diff):
                    ax.text(j, i, f"{v:+.3f}", ha="center", va="center", fontsize=7)
                ax.set_xticks(range(len(Q)), [f"{q:g}" for q in Q])
                ax.set_yticks(range(len(P)), [f"{pp:g}" for pp in P])
                ax.set_xlabel("q (0: cross-entropy)")
                ax.set_ylabel(f"{pair}\np (kept fraction)" if ir == jm == 0 else "p", fontsize=8)
                ax.set_title(rf"$(\eta_l, \eta_u) = ({el:g}, {u:g})$: {metric.replace('_', '-')}", fontsize=9)
                fig2.colorbar(im, ax=ax, shrink=0.8)
    fig2.suptitle(f"Enhanced-W2S minus W2S on test over the whole (p, q) grid (mean over {k} seeds, hard labels)",
                  fontsize=10)  # fmt: skip
    return {NAME: fig, f"{NAME}_remedy": fig2,
            f"{NAME}_tables": f"# Deep path on airline tweets, size {p['size']!r}\n\n{tables(data)}"}  # fmt: skip


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
    head = f"Written by `python -m figures.deep_tweets --size {args.size} --write-docs`.\n"
    text = head + tables(data)
    plain, rem = (float(x) for x in data["cell_seconds"])
    print(
        f"deep tweets, size {args.size}: {wall:.1f} s wall on {jax.devices()[0]} "
        f"({float(data['compute_seconds']):.1f} s summed over the cells' own compute times; mean cell "
        f"{plain:.2f} s without, {rem:.2f} s with the remedy grid)"
    )
    print(text)
    if args.write_docs:
        _common.write_docs_block(DOCS, "tweets", text, "deep_tweets")
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
