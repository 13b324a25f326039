"""``w2s claims``: each of the paper's claims, its box, its verdict and a checked counterexample.

Writes the report between the markers of ``docs/claims.md`` (``--doc``; a ``--quick`` run writes
only when ``--doc`` is given, so it never replaces the full report by accident), with its
figures next to it in ``docs/claims/``. ``--json`` prints the results as JSON instead of the
one-line-per-claim summary.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from w2s.markers import MarkersError, check_markers, markers, write_between
from w2s.problem import FIELDS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "claims.md"
BEGIN, END = markers("claims")
METHOD_NAMES = {"printed": "printed forms", "leading": "leading order (trace forms)", "exact": "exact theory"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="one shape and small boxes (about a minute)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--seed", type=int, default=None, metavar="S", help="box and simulation seed (default: fixed)")
    parser.add_argument(
        "--doc",
        metavar="FILE",
        default=None,
        help="Markdown file whose claims markers receive the report (default: docs/claims.md for a full run; "
        "a --quick run writes only when this is given)",
    )
    parser.add_argument("--no-simulate", action="store_true", help="skip the simulator checks of the counterexamples")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )


def run(args: argparse.Namespace) -> int:
    from w2s.commands import InputError

    if args.seed is not None and not 0 <= args.seed < 2**63:
        raise InputError(f"--seed: must be an integer in [0, 2^63), got {args.seed}")
    doc = Path(args.doc) if args.doc else (None if args.quick else DOC)
    if doc is not None:
        try:
            check_markers(doc, "claims")
        except MarkersError as e:
            raise InputError(f"--doc: {e}") from None
    from w2s import claims, use_jax_cache

    use_jax_cache()

    size = "quick" if args.quick else "full"
    t0 = time.perf_counter()
    result = claims.run_claims(
        size,
        seed=claims.SEED if args.seed is None else args.seed,
        simulate_checks=not args.no_simulate,
        progress=args.progress,
    )
    result["seconds"] = time.perf_counter() - t0
    result["load"] = os.getloadavg()[0]
    result["cpus"] = os.cpu_count()
    if doc is not None:
        write_report(result, doc)
    if args.json:
        from ._common import dump_json

        print(dump_json(to_json(result)))
        return 0
    for entry in result["claims"].values():
        parts = []
        for m, v in entry["verdicts"].items():
            parts.append(f"{m}: " + ", ".join(f"{meth} {r['fraction']:.3f}" for meth, r in v.items()))
        print(f"{entry['claim'].title}\n    holds on: " + "; ".join(parts))
    print(f"{size} run, {result['seconds']:.0f} s" + (f"; report written to {doc}" if doc is not None else ""))
    return 0


# ------------------------------------------------------------------------------- JSON
def _problem_dict(q) -> dict[str, Any]:
    d = q.to_dict()
    from w2s.claims import coordinates

    d["coordinates"] = coordinates(q)
    return d


def to_json(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON-serialisable part of :func:`w2s.claims.run_claims`' result."""
    out = {k: result[k] for k in ("size", "seed", "box", "z_crit", "comparisons") if k in result}
    out["shapes"] = [list(s) for s in result["shapes"]]
    for k in ("seconds", "load", "cpus"):
        if k in result:
            out[k] = result[k]
    out["claims"] = {}
    for key, entry in result["claims"].items():
        c = entry["claim"]
        row: dict[str, Any] = {
            "title": c.title,
            "paper": c.paper,
            "reading": c.reading,
            "choices": c.choices,
            "box": c.box,
            "verdicts": {
                m: {meth: {k: v for k, v in r.items() if not k.startswith("_")} for meth, r in vs.items()}
                for m, vs in entry["verdicts"].items()
            },
            "counterexample": {},
            "exact_ridgeless_part": {
                m: dict(zip(("holds", "n"), ridgeless_part(entry, m), strict=True)) for m in entry["verdicts"]
            },
        }
        for m, ce in entry.get("counterexample", {}).items():
            if ce is None:
                row["counterexample"][m] = None
                continue
            row["counterexample"][m] = {
                "quantity": ce["quantity"],
                "theory": ce["theory"],
                "problems": [_problem_dict(q) for q in ce["problems"]],
                "simulation": ce.get("simulation"),
            }
        if key == "d":
            row["scan"] = {m: {k: np.asarray(v).tolist() for k, v in s.items()} for m, s in entry["scan"].items()}
        out["claims"][key] = row
    out["paper_example"] = result["paper_example"]
    return out


# ------------------------------------------------------------------------------ report
def _fmt(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "none" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def ridgeless_part(entry, model: str) -> tuple[int, int]:
    """(holds, evaluated) of the exact verdict on the sampled points with lambda_T = lambda_S = 0
    (the paper's ridgeless setting; about a quarter of the box)."""
    ex = entry["verdicts"][model].get("exact")
    if ex is None:
        return 0, 0
    sel = np.array([float(s[0].ridge_teacher) == 0 and float(s[0].ridge_student) == 0 for s in entry["sets"][model]])
    good = sel & ~ex["_bad"]
    return int((ex["_holds_mask"] & good).sum()), int(good.sum())


def _telling_axes(entry, models) -> tuple[str, str]:
    """The two coordinates that best separate failing from holding points under the exact theory,
    pooled over models: largest |AUC - 1/2| of a coordinate between the two groups (ties to the
    claim's default axes)."""
    from scipy.stats import rankdata

    from w2s.claims import coordinates

    coords, fail = [], []
    for m in models:
        ex = entry["verdicts"][m].get("exact")
        if ex is None:
            continue
        for i, s in enumerate(entry["sets"][m]):
            if ex["_bad"][i]:
                continue
            coords.append(coordinates(s[0]))
            fail.append(not ex["_holds_mask"][i])
    fail = np.array(fail)
    if fail.sum() == 0 or fail.all():
        return entry["claim"].default_axes
    scores = {}
    for name in coords[0]:
        x = np.array([c[name] for c in coords], dtype=float)
        ok = np.isfinite(x)
        if np.ptp(x[ok]) == 0 if ok.any() else True:
            continue
        r = rankdata(x[ok])
        f = fail[ok]
        n1, n0 = f.sum(), (~f).sum()
        if n1 == 0 or n0 == 0:
            continue
        auc = (r[f].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
        scores[name] = abs(auc - 0.5)
    best = sorted(scores, key=lambda k: -scores[k])[:2]
    return tuple(best) if len(best) == 2 else entry["claim"].default_axes


def _region_figure(entry, models, axes_names, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from w2s.claims import coordinates

    fig, axs = plt.subplots(1, len(models), figsize=(7.6, 3.1), constrained_layout=True, sharex=True, sharey=True)
    for ax, m in zip(np.atleast_1d(axs), models, strict=True):
        ex = entry["verdicts"][m]["exact"]
        pts = [(coordinates(s[0]), not ex["_holds_mask"][i], ex["_bad"][i]) for i, s in enumerate(entry["sets"][m])]
        for flag, kw in (
            (False, dict(s=6, c="#4a7fb5", alpha=0.45, label="holds", lw=0)),
            (True, dict(s=12, c="#c0392b", marker="x", lw=1.0, label="fails")),
        ):
            xs = [p[0][axes_names[0]] for p in pts if p[1] == flag and not p[2]]
            ys = [p[0][axes_names[1]] for p in pts if p[1] == flag and not p[2]]
            ax.scatter(xs, ys, **kw)
        ax.set_title(f"{m} (exact theory)", fontsize=9)
        ax.set_xlabel(axes_names[0], fontsize=8)
        ax.tick_params(labelsize=7)
    np.atleast_1d(axs)[0].set_ylabel(axes_names[1], fontsize=8)
    np.atleast_1d(axs)[-1].legend(fontsize=7, loc="best")
    fig.savefig(path, dpi=72)
    plt.close(fig)


def _boundary_figure(entry, example, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scan, cap = entry["scan"], entry["scan_max"]
    fig, axs = plt.subplots(1, 2, figsize=(8.2, 3.3), constrained_layout=True)
    ax = axs[0]
    for m, colour in zip(scan, ("C0", "C1"), strict=False):
        s_P = np.asarray(scan[m]["printed"], float)
        s_E = np.asarray(scan[m]["exact"], float)
        x = np.where(np.isfinite(s_P), np.minimum(s_P, cap * 1.15), cap * 1.15)
        y = np.where(np.isfinite(s_E), s_E, cap * 1.15)
        ax.scatter(x, y, s=10, c=colour, label=m, alpha=0.7)
    ax.plot([0, cap], [0, cap], color="0.3", lw=0.8, ls="--", label="exact = printed")
    ax.set_xlabel(r"printed threshold $s_P$ (||mu_T||^2; right edge: none/beyond)", fontsize=8)
    ax.set_ylabel(f"exact boundary (top edge: none up to {cap:g})", fontsize=8)
    ax.set_xlim(0, cap * 1.2)
    ax.set_ylim(0, cap * 1.2)
    ax.legend(fontsize=7)
    ax.tick_params(labelsize=7)
    ax.set_title("sampled box: boundary in ||mu_T||^2/sigma_xi^2", fontsize=9)
    ax = axs[1]
    rows = example["rows"]
    smax = example["s_max"]
    p_Ts = sorted({r["p_T"] for r in rows})
    ax.plot(p_Ts, [12.5 * (p - 1) for p in p_Ts], "k--", lw=1.2, label="paper: 12.5 (p_T - 1)")
    for m, mk in zip(("mixture", "mean-shift"), ("o", "s"), strict=True):
        for nu, ls in zip(sorted({r["nu"] for r in rows}), ("-", ":"), strict=False):
            ys = [next(r["exact"] for r in rows if r["model"] == m and r["nu"] == nu and r["p_T"] == p) for p in p_Ts]
            ys = [y if np.isfinite(y) else smax * 1.05 for y in ys]
            ax.plot(p_Ts, ys, marker=mk, ls=ls, ms=4, label=f"exact, {m}, nu_z={nu:g}")
    ax.axhline(smax, color="0.6", lw=0.6)
    ax.set_xlabel("p_T", fontsize=8)
    ax.set_ylabel("boundary ||mu_T||^2 (above line: none)", fontsize=8)
    ax.set_title("paper's example (Xi = 0)", fontsize=9)
    ax.legend(fontsize=6)
    ax.tick_params(labelsize=7)
    fig.savefig(path, dpi=72)
    plt.close(fig)


def _problem_line(q) -> str:
    s = q.summary()
    from w2s.claims import coordinates

    c = coordinates(q)
    return (
        f"{q.group_model}, p_T={q.p_T}, p_S={q.p_S}, ||Xi||_F^2={s['similarity']:.3g}, "
        f"||mu_T||^2={s['mu_T2']:.3g}, ||mu_S||^2={s['mu_S2']:.3g}, ||Xi mu_S||/||mu_T||="
        f"{c['||Xi mu_S|| / ||mu_T||']:.3g}, eta_l={q.eta_l:.3f}, eta_u={q.eta_u:.3f}, eta_t={q.eta_t:.3f}, "
        f"gamma_z={q.gamma:.3g}, nu_z={q.nu:.3g}, ridge_T={q.ridge_teacher:.3g}, ridge_S={q.ridge_student:.3g}"
    )


PAIR_TEXT = {
    "gain>0": "The claim says this gain is positive.",
    "gain falls": "The pair differs in one coordinate; the claim says the second has the smaller gain.",
    "star near": "Both are the sampled problem; first at eta_u = eta_l (where the claim puts eta_u*), second at "
    "the exact eta_u*. The simulator checks that the exact eta_u* has the lower student risk.",
    "star moves away": "Both are the second problem of the sampled pair; second at its exact eta_u*, first at the "
    "printed eta_u* (where that is the same, the first problem's exact eta_u*; where that is the same too, "
    "a point 0.05 inside [0, 1]). The simulator checks that the exact eta_u* has the lower student risk.",
    "threshold": "At the check separation where the printed forms and the exact theory disagree on the sign of "
    "the gain.",
}


def _counterexample_md(ce, z_crit, kind: str = "") -> list[str]:
    if ce is None:
        return ["none: the claim holds at every evaluated point of the box under the exact theory."]
    lines = [PAIR_TEXT[kind], ""] if kind in PAIR_TEXT else []
    qs = ce["problems"]
    what = {
        "gain": "the W2S gain",
        "gain difference": "gain(second) - gain(first)",
        "student difference": "student risk(second) - student risk(first)",
    }[ce["quantity"]]
    for j, q in enumerate(qs):
        label = "problem" if len(qs) == 1 else ("first" if j == 0 else "second")
        lines.append(f"* {label}: {_problem_line(q)}")
        lines.append(f"  (`--set` form: `{_set_form(q)}`)")
    lines.append(f"* exact theory: {what} = {ce['theory']:.4g}")
    sims = ce.get("simulation")
    if sims:
        lines.append("")
        lines.append(
            f"| d_z | n | N | trials | simulation (mean ± se) | z vs theory | agrees (abs z <= {z_crit:.2f}) "
            "| sign confirmed |"
        )
        lines.append("|---|---|---|---|---|---|---|---|")
        for r in sims:
            lines.append(
                f"| {r['d_z']} | {r['n']} | {'inf' if r['N'] is None else r['N']} | {r['trials']} | "
                f"{r['mean']:.4g} ± {r['se']:.2g} | {r['z']:+.2f} | {'yes' if r['agrees'] else 'no'} | "
                f"{'yes' if r['sign_confirmed'] else 'no'} |"
            )
    else:
        lines.append("* simulator check: not run")
    return lines


def _set_form(q) -> str:
    """``--set`` flags that rebuild ``q`` (the box keeps the default noise levels and d_z)."""
    d = q.to_dict()
    keep = [f for f in FIELDS if f not in ("sigma_y2", "signal", "sigma_xi2", "d_z")]

    def val(v):
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        return f"{v:.6g}"

    return " ".join(f"--set {k}='{val(d[k])}'" for k in keep)


def report_markdown(result: dict[str, Any], fig_dir: Path, rel: str) -> str:
    """The report's Markdown (between the markers), writing the figures into ``fig_dir``."""
    from w2s.claims import SIZES

    fig_dir.mkdir(parents=True, exist_ok=True)
    models = list(next(iter(result["claims"].values()))["verdicts"])
    cfg = SIZES[result["size"]]
    total = 0
    for entry in result["claims"].values():
        for m in models:
            total += len(entry["sets"][m])
    L = [
        f"Generated by `w2s claims{' --quick' if result['size'] == 'quick' else ''}` ({result['size']} run, seed "
        f"{result['seed']}, {total} sampled problems or pairs over both group models, "
        f"(p_T, p_S) in {', '.join(str(tuple(s)) for s in result['shapes'])}; "
        f"{result.get('seconds', float('nan')):.0f} s on {result.get('cpus', '?')} CPUs, load average "
        f"{result.get('load', float('nan')):.1f} at the end; compilation included, JAX's on-disk compilation "
        "cache may have been warm).",
        "",
        "### The box",
        "",
        *(f"* {k}: {v}" for k, v in result["box"].items()),
        f"* per claim, per shape and group model: {cfg['n']} sampled problems (pairs for the trend claims), "
        f"{cfg['n_star']} for the two eta_u* claims",
        "",
        "### Summary: fraction of the box where each claim holds",
        "",
        "| claim | printed forms | leading order, mixture | leading order, mean-shift | exact, mixture "
        "| exact, mean-shift | exact, ridgeless part, mixture | exact, ridgeless part, mean-shift |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entry in result["claims"].values():
        v = entry["verdicts"]

        def cell(model, meth, v=v):
            r = v[model].get(meth)
            if r is None:
                return "not testable"
            err = f" ({r['errors']} errors)" if r["errors"] else ""
            return f"{r['fraction']:.3f} ({r['holds']}/{r['n'] - r['errors']}){err}"

        def part(model, entry=entry):
            h, n = ridgeless_part(entry, model)
            return f"{h / n:.3f} ({h}/{n})" if n else "n/a"

        printed = cell(models[0], "printed")
        L.append(
            f"| {entry['claim'].title} | {printed} | {cell('mixture', 'leading')} | {cell('mean-shift', 'leading')} | "
            f"{cell('mixture', 'exact')} | {cell('mean-shift', 'exact')} | {part('mixture')} | {part('mean-shift')} |"
        )
    L += [
        "",
        '"Ridgeless part": the same exact verdicts restricted to the sampled points with lambda_T = lambda_S = 0, '
        "the paper's own setting. "
        "The printed forms do not depend on the group model; their fraction is over the mixture's sample "
        '(the mean-shift sample is drawn separately). "errors": problems whose exact evaluation raised or '
        "was not finite; they are counted here and left out of the fraction.",
        "",
        f"Simulator checks: each counterexample is simulated at d_z = {cfg['d_z'][0]} and {cfg['d_z'][1]} with "
        f"{cfg['trials']} trials (seed {result['seed'] % 2**31}; pairs share the seed, so their difference is "
        "paired trial by trial). Rule: the simulation agrees with the theory when |mean - theory| <= z* se, "
        f"z* = {result.get('z_crit', float('nan')):.2f}, the two-sided Bonferroni value for a 1% chance of any false "
        f"disagreement over the report's {result.get('comparisons', 0)} comparisons; the violation's sign is "
        "confirmed when the mean has the theory's sign and |mean| > z* se. The theory is the d_z -> infinity "
        "limit: a finite-d_z bias shows as |z| that does not shrink from the smaller to the larger d_z.",
        "",
    ]
    for key, entry in result["claims"].items():
        c = entry["claim"]
        L += [
            f"### {c.title}",
            "",
            f"* **Paper:** {c.paper}",
            f"* **Our reading:** {c.reading}",
            f"* **Choices that are ours:** {c.choices}",
            f"* **Box:** {c.box}",
            "",
            "| model | method | holds | n | errors | fraction |" + (" ties |" if key == "mu_S" else ""),
            "|---|---|---|---|---|---|" + ("---|" if key == "mu_S" else ""),
        ]
        for m in models:
            for meth, r in entry["verdicts"][m].items():
                extra = f" {r.get('ties', 0)} |" if key == "mu_S" else ""
                n = r["n"]
                L.append(
                    f"| {m} | {METHOD_NAMES[meth]} | {r['holds']} | {n} | {r['errors']} | {r['fraction']:.3f} |{extra}"
                )
        if key == "d":
            unchecked = {m: entry["verdicts"][m]["exact"]["unchecked"] for m in models}
            L += [
                "",
                "Problems whose printed threshold lies in (100, inf) are outside the check's range and not "
                f"counted: {', '.join(f'{m} {u}' for m, u in unchecked.items())}.",
            ]
        axes_names = _telling_axes(entry, models)
        name = f"claim_{key}.png"
        _region_figure(entry, models, axes_names, fig_dir / name)
        L += [
            "",
            f"Failing region (exact theory) in the two coordinates that best separate failing from holding "
            f"points (largest |AUC - 1/2|): {axes_names[0]} and {axes_names[1]}.",
            "",
            f"![claim {key}: failing region]({rel}/{name})",
            "",
            "**Nearest counterexample** (exact theory; nearest the printed forms' regime, i.e. smallest "
            "gamma_z p_T + nu_z p_S + lambda_T + lambda_S):",
            "",
        ]
        for m in models:
            L.append(f"*{m}:*")
            L.append("")
            L += _counterexample_md(entry.get("counterexample", {}).get(m), result.get("z_crit", 3.0), c.kind)
            L.append("")
        if key == "d":
            _boundary_figure(entry, result["paper_example"], fig_dir / "claim_d_boundary.png")
            ex = result["paper_example"]
            L += [
                "**The failure boundary against 12.5 (p_T - 1).** The paper's example: Xi = 0 (p_S = 2, the "
                "student's direction orthogonal to the teacher's, ||mu_S|| = 0), eta_l = eta_t = 0.5, "
                "eta_u = 0.5 + sqrt(0.08), gamma_z = 0.1, ridgeless. The boundary is the first separation "
                f"||mu_T||^2/sigma_xi^2 on a grid of step {ex['step']:.3g} up to {ex['s_max']:g} where the gain "
                "turns negative (linear interpolation); 'none' = the gain stays positive up to "
                f"{ex['s_max']:g}.",
                "",
                "| model | nu_z | p_T | paper 12.5 (p_T - 1) | leading order | exact |",
                "|---|---|---|---|---|---|",
            ]
            for r in ex["rows"]:
                L.append(
                    f"| {r['model']} | {r['nu']:g} | {r['p_T']} | {r['paper']:g} | {_fmt(r['leading'], 4)} | "
                    f"{_fmt(r['exact'], 4)} |"
                )
            scan = entry["scan"]
            L += [
                "",
                "Over a subset of the box (the first problems of each shape), the exact boundary against "
                "the printed threshold s_P (left) and the example (right):",
                "",
                f"![claim d: boundary]({rel}/claim_d_boundary.png)",
                "",
            ]
            for m in models:
                s_P, s_E = np.asarray(scan[m]["printed"], float), np.asarray(scan[m]["exact"], float)
                both = np.isfinite(s_P) & np.isfinite(s_E) & (s_P <= entry["scan_max"])
                ratio = s_E[both] / s_P[both]
                L.append(
                    f"* {m}: {len(s_P)} problems; printed threshold within the scan: "
                    f"{int((np.isfinite(s_P) & (s_P <= entry['scan_max'])).sum())}; exact boundary within the "
                    f"scan: {int(np.isfinite(s_E).sum())}; both: {int(both.sum())}"
                    + (
                        f", exact / printed median {np.median(ratio):.3g} "
                        f"(range {ratio.min():.3g} to {ratio.max():.3g})"
                        if both.any()
                        else ""
                    )
                    + f"; errors {int(np.isnan(s_E).sum())}."
                )
            L.append("")
    return "\n".join(L)


def write_report(result: dict[str, Any], doc: Path) -> None:
    """Replace the text between the claims markers of ``doc`` with the report; figures go to
    ``doc``'s folder / ``claims``."""
    fig_dir = doc.parent / "claims"
    write_between(doc, "claims", report_markdown(result, fig_dir, "claims"))
