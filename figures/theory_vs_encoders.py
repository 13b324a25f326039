r"""Predicted against empirical W2S gain of ridge heads on real tweet encoders.

For each pair of :data:`PAIRS`, eta_l in {0.1, 0.3, 0.5} and eta_u in {0, 0.1, ..., 1}, the gain
(teacher minus student mean squared error against the true :math:`\pm1` label, at eta_t = 0.5) of
ridge heads (ridge 1e-3, the deep path's weight penalty; intercept as a penalised constant
coordinate) three ways (:func:`w2s.deep_theory.curve`):

* **predicted**: the general-mixture theory (:func:`asymptotics.mixture_risks`), fed only the
  pool's per-group means and covariances of the pair's features and (n - n_bal, N, ridges);
* **surrogate**: the same heads on features drawn from that Gaussian group mixture (exact risks);
* **measured**: the same heads on the real features, scored on each seed's bootstrap draw of the
  real test set.

Mean ± s.e. over seeds (the measured ones over seeds and test draws); z = (mean - predicted)/s.e.
Beside them, how Gaussian the features are: per group and view, the excess kurtosis of
one-dimensional projections of the pool features (:func:`simulate.deep.gaussianity`).

``python -m figures.theory_vs_encoders [--size fast|default|full] [--write-docs]`` builds it
alone, prints the tables and, with ``--write-docs``, writes them into docs/deep.md between its
``theory-vs-encoders`` markers.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from . import _common

NAME = "theory_vs_encoders"
ORDER = 85
GROUP = "deep"  # make deep, not make figures
ETA_L = (0.1, 0.3, 0.5)
GRID = tuple(np.round(np.linspace(0.0, 1.0, 11), 2).tolist())  # eta_u: 0, 0.1, ..., 1
PAIRS = ("minilm-static/minilm", "minilm-l3/minilm", "tfidf/minilm")
SIZES = {
    "fast": dict(
        tweets="small",
        pairs=("minilm-static/minilm", "tfidf/minilm"),
        eta_l=(0.1, 0.5),
        eta_u=(0.0, 0.5, 1.0),
        seeds=(0, 1, 2),
        nN=(30, 60, 20, 8),
    ),
    "default": dict(
        tweets="full", pairs=PAIRS, eta_l=ETA_L, eta_u=GRID, seeds=tuple(range(20)), nN=(200, 2000, 400, 40)
    ),
    "full": dict(
        tweets="full",
        pairs=(*PAIRS, "minilm-l1/minilm"),
        eta_l=ETA_L,
        eta_u=GRID,
        seeds=tuple(range(40)),
        nN=(200, 2000, 400, 40),
    ),
}  # fmt: skip  (nN: n, N, n_val, n_bal)
RIDGE = 1e-3  # the deep path's weight penalty (simulate.deep.DeepConfig.l2)
ETA_T = 0.5
CURVES = ("predicted", "surrogate", "surrogate_se", "measured", "measured_se", "z_surrogate", "z_measured",
          "measured_pool", "measured_pool_se", "z_measured_pool", "teacher_measured_pool", "student_measured_pool",
          "surrogate_acc", "surrogate_acc_se", "measured_acc", "measured_acc_se",
          *(f"{m}_{s}" for m in ("teacher", "student") for s in ("predicted", "surrogate", "surrogate_se",
                                                                  "measured", "measured_se")))  # fmt: skip
GAUSS = ("weak_coord_median", "weak_pc1", "weak_random", "strong_coord_median", "strong_pc1", "strong_random", "count")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "deep.md"


def params(size: str) -> dict:
    # w2s/deep_theory.py is outside the driver's shared sources; its hash in the parameters makes
    # a change to it recompute this figure's data
    from ._common import sources_hash

    s = SIZES[size]
    return {**s, "ridge": RIDGE, "eta_t": ETA_T, "deep_theory": sources_hash(["w2s/deep_theory.py"])[:16]}


def compute(p: dict) -> dict[str, np.ndarray]:
    import simulate.deep as deep
    from w2s import deep_theory

    n, N, n_val, n_bal = p["nN"]
    out: dict[str, list] = {k: [] for k in (*CURVES, *(f"gauss_{g}" for g in GAUSS), "seconds")}
    for pair in p["pairs"]:
        t0 = time.perf_counter()
        c = deep_theory.curve(pair, seeds=p["seeds"], eta_l=p["eta_l"], eta_u=p["eta_u"], size=p["tweets"], n=n, N=N,
                              n_val=n_val, n_bal=n_bal, eta_t=p["eta_t"], ridge=p["ridge"])  # fmt: skip
        for k in CURVES:
            out[k].append(c[k])
        g = deep.gaussianity(*deep.TEXT_PAIRS[pair], p["tweets"])
        for k in GAUSS:
            out[f"gauss_{k}"].append(g[k])
        out["seconds"].append(time.perf_counter() - t0)
    data = {k: np.asarray(v) for k, v in out.items()}
    data["n_teacher"] = np.asarray(int(c["n_teacher"]))
    return data


# ------------------------------------------------------------------------------------ tables
def _z(z: np.ndarray) -> str:
    a = np.abs(z[np.isfinite(z)])
    return f"{np.median(a):.2f} / {np.max(a):.2f}"


def _diff(data, ip: int, il: int, src: str, where: np.ndarray | None = None) -> str:
    """Mean over eta_u (``where``: those points only) of (src - predicted), with the mean s.e. of a point
    (the points are not independent: every point of a seed shares its sets' draws)."""
    where = np.ones(data[src].shape[-1], bool) if where is None else where
    d = (data[src][ip, il] - data["predicted"][ip, il])[where]
    return f"{d.mean():+.3f} (s.e. {data[f'{src}_se'][ip, il][where].mean():.3f})"


def tables(data, p: dict) -> str:
    k = len(p["seeds"])
    n, N, _, n_bal = p["nN"]
    lines = [
        f"Ridge heads (ridge {p['ridge']:g} on the mean squared error, intercept a penalised constant coordinate), "
        f"teacher on n - n_bal = {n - n_bal} labels, student on N = {N}; gain = teacher minus student mean squared "
        f"error against the ±1 label at eta_t = {p['eta_t']:g}; {k} seeds, eta_l in "
        f"{{{', '.join(f'{e:g}' for e in p['eta_l'])}}}, {len(p['eta_u'])} values of eta_u in [0, 1]. z = (mean - "
        "predicted) / s.e.; |z| summarised as median / max over the grid.",
        "",
        "### Theory against surrogate and against the real features",
        "",
        "| pair | eta_l | predicted gain, min .. max over eta_u (argmax) | surrogate - predicted | "
        "measured - predicted, interior eta_u in (0, 1) | measured - predicted, ends eta_u in {0, 1} | "
        "measured, scored on the unused pool, - predicted | "
        "median / max abs z, surrogate | median / max abs z, measured | "
        "teacher mse: predicted / surrogate / measured / measured on the unused pool | "
        "student mse (mean over eta_u): the same four |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    eta_u = np.asarray(p["eta_u"])
    ends = (eta_u == 0) | (eta_u == 1)
    for ip, pair in enumerate(p["pairs"]):
        for il, el in enumerate(p["eta_l"]):
            pr = data["predicted"][ip, il]
            top = eta_u[int(np.argmax(pr))]  # of the theory's curve: deterministic, not a noisy mean
            three = ("predicted", "surrogate", "measured", "measured_pool")
            tm = [data[f"teacher_{s}"][ip, il].mean() for s in three]
            sm = [data[f"student_{s}"][ip, il].mean() for s in three]
            lines.append(
                f"| {pair} | {el:g} | {pr.min():+.3f} .. {pr.max():+.3f} ({top:g}) | "
                f"{_diff(data, ip, il, 'surrogate')} | {_diff(data, ip, il, 'measured', ~ends)} | "
                f"{_diff(data, ip, il, 'measured', ends)} | {_diff(data, ip, il, 'measured_pool')} | "
                f"{_z(data['z_surrogate'][ip, il])} | "
                f"{_z(data['z_measured'][ip, il])} | {' / '.join(f'{v:.3f}' for v in tm)} | "
                f"{' / '.join(f'{v:.3f}' for v in sm)} |"
            )
    lines += ["", "Over the whole grid of each pair (median / max |z|):", ""]
    for ip, pair in enumerate(p["pairs"]):
        zs, zm = data["z_surrogate"][ip], data["z_measured"][ip]
        frac = np.mean(np.abs(zm[np.isfinite(zm)]) > 2)
        acc = {src: data[f"{src}_acc"][ip].mean() for src in ("surrogate", "measured")}
        zp = data["z_measured_pool"][ip]
        lines.append(f"* {pair}: theory vs surrogate {_z(zs)}; theory vs measured {_z(zm)} "
                     f"(scored on the unused pool tweets instead of the test set: {_z(zp)}) "
                     f"({frac:.0%} of the points beyond |z| = 2); accuracy gain (student - teacher) at eta_t, mean "
                     f"over the grid: surrogate {acc['surrogate']:+.3f}, measured {acc['measured']:+.3f}")  # fmt: skip
    lines += [
        "",
        "### How Gaussian the pool features are (excess kurtosis; 0 for a Gaussian)",
        "",
        "Per group (y, a): the median over coordinates of each coordinate's excess kurtosis, along the group's top "
        "principal component, and the mean over 64 random unit directions. The sampling s.e. of one "
        f"excess kurtosis under a Gaussian is about sqrt(24 / m) = {np.sqrt(24 / data['gauss_count'][0].min()):.2f} "
        f"at the smallest group's m = {int(data['gauss_count'][0].min())} pool tweets.",
        "",
        "| encoder | group (y, a) | median over coordinates | top principal component | random directions |",
        "|---|---|---|---|---|",
    ]
    seen = set()
    for ip, pair in enumerate(p["pairs"]):
        for view, enc in zip(("weak", "strong"), pair.split("/"), strict=True):
            if enc in seen:
                continue
            seen.add(enc)
            for g in range(4):
                lines.append(
                    f"| {enc} | ({g // 2}, {g % 2}) | {data[f'gauss_{view}_coord_median'][ip, g]:+.2f} | "
                    f"{data[f'gauss_{view}_pc1'][ip, g]:+.2f} | {data[f'gauss_{view}_random'][ip, g]:+.2f} |"
                )
    return "\n".join(lines)


def plot(data, p: dict) -> dict:
    pairs, eta_l, eta_u = p["pairs"], p["eta_l"], np.asarray(p["eta_u"])
    fig, axes = plt.subplots(len(pairs), len(eta_l), figsize=(3.6 * len(eta_l), 2.8 * len(pairs)), squeeze=False,
                             sharex=True)  # fmt: skip
    dx = 0.006
    for ip, pair in enumerate(pairs):
        for il, el in enumerate(eta_l):
            ax = axes[ip, il]
            ax.plot(eta_u, data["predicted"][ip, il], "k-", lw=1.5, label="predicted (theory)")
            for src, colour, shift, label in (("surrogate", "C0", -dx, "surrogate"), ("measured", "C1", dx, "measured"),
                                              ("measured_pool", "C2", 2 * dx, "measured, on unused pool")):  # fmt: skip
                _common.errorbar(ax, eta_u + shift, np.stack([data[src][ip, il], data[f"{src}_se"][ip, il]], 1),
                                 color=colour, label=f"{label} ± s.e.")  # fmt: skip
            ax.axvline(el, color="0.7", lw=0.8, ls=":")
            ax.axhline(0, color="0.85", lw=0.8)
            ax.set_title(rf"{pair}, $\eta_l = {el:g}$", fontsize=9)
            if il == 0:
                ax.set_ylabel("gain (teacher - student MSE)")
            if ip == len(pairs) - 1:
                ax.set_xlabel(r"$\eta_u$")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"Ridge W2S on tweet encoders: theory vs Gaussian surrogate vs real features "
                 f"({len(p['seeds'])} seeds, ±1 s.e.)", fontsize=10)  # fmt: skip
    fig.tight_layout()
    return {NAME: fig, f"{NAME}_tables": f"# Theory vs encoders, size {p['size']!r}\n\n{tables(data, p)}"}


def _cli(argv=None) -> int:
    import argparse

    import matplotlib

    matplotlib.use("Agg")
    parser = argparse.ArgumentParser(prog="python -m figures.theory_vs_encoders", description=__doc__)
    parser.add_argument("--size", choices=tuple(SIZES), default="default")
    parser.add_argument("--write-docs", action="store_true", help="write the tables into docs/deep.md")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    me = sys.modules[__name__]
    p = _common.parameters(me, args.size)
    data = _common.data(me, p)
    _common.save(plot(data, p))
    wall = time.perf_counter() - t0
    per_pair = ", ".join(f"{pair} {s:.0f} s" for pair, s in zip(p["pairs"], data["seconds"], strict=True))
    text = f"Written by `python -m figures.theory_vs_encoders --size {args.size} --write-docs`.\n" + tables(data, p)
    print(f"theory vs encoders, size {args.size}: {wall:.1f} s wall (data step per pair when computed: {per_pair})")
    print(text)
    if args.write_docs:
        _common.write_docs_block(DOCS, "theory-vs-encoders", text, "theory_vs_encoders")
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
