"""The audit's report: JSON, the Markdown block of docs/claims.md and its figures.

Everything here reads :func:`w2s.claims.run_claims`' result; no number is typed in. The block
leads with the statements that hold on the paper's regime (each with its measured fraction and
95 % Wilson interval, marked *proved* or *machine-checked*), then the paper-regime and box
tables, the printed x exact tables, the region table, the sensitivity rows, claim (d)'s
thresholds, the mechanism checks and one section per claim.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from setting.problem import FIELDS
from w2s.markers import write_between

from ._definitions import BY_KEY, NEAR, RATIO, REGRET
from ._engine import GRID_POINTS, summarise
from ._run import SIMULABLE, VIOLATION
from ._sampling import STRATA, coordinates

METHOD_NAMES = {"printed": "printed forms", "leading": "leading order (trace forms)", "exact": "exact theory"}
READING_NAMES = {"literal": "literal", "supported": "supported by the printed formulas", "mechanism": "mechanism"}
HOLDS_LOW = 0.95  # 'holds on the paper's regime': every model's exact interval lies above this
REGION_BINS = {
    "gamma_z p_T": ((0.0, 0.1), (0.1, 0.3), (0.3, math.inf)),
    "nu_z p_S": ((0.0, 0.0), (0.0, 0.05), (0.05, math.inf)),
    "ridges": ((0.0, 0.0), (0.0, math.inf)),
}


# ------------------------------------------------------------------------------- numbers
def _fmt(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "none" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def _frac(s: dict[str, Any]) -> str:
    if s is None:
        return "not testable"
    if not s["n"] - s["errors"] - s["ties"]:
        return "n/a"
    lo, hi = s["ci95"]
    return f"{s['fraction']:.3f} [{lo:.3f}, {hi:.3f}] (n={s['n'] - s['errors'] - s['ties']})"


def stratum_summary(entry, stratum: str, models) -> dict[str, Any]:
    """The JSON ``strata`` record of one stratum: ``holds``, ``n``, ``fraction``, ``ci95`` of the exact
    theory under the first group model, and ``by_model`` (model -> method -> summary)."""
    by_model = entry["strata"][stratum]
    first = by_model[models[0]]["exact"]
    return {
        "holds": first["holds"],
        "n": first["n"] - first["errors"] - first["ties"],
        "fraction": first["fraction"],
        "ci95": first["ci95"],
        "model": models[0],
        "by_model": by_model,
    }


def _in_bin(x: float, lo: float, hi: float) -> bool:
    return x == 0.0 if hi == 0.0 else lo < x <= hi if lo == 0.0 and hi != math.inf else lo < x


def region_table(entry, model: str) -> dict[str, list[dict[str, Any]]]:
    """Exact-theory fractions of one claim and model by bins of gamma_z p_T, nu_z p_S and ridges
    (both strata pooled)."""
    coords, parts = [], []
    for stratum, cases in entry["cases"].items():
        for c in cases:
            q = c.problems[0]
            coords.append(
                {
                    "gamma_z p_T": float(q.gamma) * q.p_T,
                    "nu_z p_S": float(q.nu) * q.p_S,
                    "ridges": float(q.ridge_teacher) + float(q.ridge_student),
                }
            )
        parts.append(entry["v"][stratum][model]["exact"])
    v = {k: np.concatenate([p[k] for p in parts]) for k in ("holds", "bad", "skip")}
    out = {}
    for name, bins in REGION_BINS.items():
        x = np.array([c[name] for c in coords])
        out[name] = []
        for lo, hi in bins:
            mask = np.array([_in_bin(float(xi), lo, hi) for xi in x])
            out[name].append({"bin": [lo, hi], **summarise(v, mask)})
    return out


def sensitivity(result) -> list[dict[str, Any]]:
    """Each threshold that is the audit's own choice, moved: the exact fractions (paper's regime and
    box, per model) of the claim re-read with another value. Computed from the stored arrays."""
    rows = []
    models = result["models"]

    def add(key, what, value, fn):
        cells = {}
        entry = result["claims"][key]
        for stratum in STRATA:
            cases = entry["cases"][stratum]
            for m in models:
                v = entry["v"][stratum][m]["exact"]
                holds, mask = fn(cases, v)
                cells[f"{stratum}|{m}"] = summarise({**v, "holds": holds}, mask)
        rows.append({"claim": key, "what": what, "value": value, "cells": cells})

    def near(tol, ratio):
        def fn(cases, v):
            el = np.array([float(c.problems[0].eta_l) for c in cases])
            r = np.array([coordinates(c.problems[0])["||Xi mu_S|| / ||mu_T||"] for c in cases])
            return np.abs(v["star"] - el) <= tol, r <= ratio

        return fn

    for tol in (0.02, NEAR, 0.1):
        add("b", "'near': |eta_u* - eta_l| <=", tol, near(tol, RATIO))
    add("b", "'<<': ||Xi mu_S|| / ||mu_T|| <=", RATIO / 2, near(NEAR, RATIO / 2))
    for eps in (REGRET / 2, REGRET, 2 * REGRET):
        add("b_regret", "regret tolerance", eps, lambda cases, v, eps=eps: (v["regret_rel"] <= eps, None))
    for cap in (0.01, 0.05):
        add(
            "a", "'small nu_z': nu_z p_S <=", cap,
            lambda cases, v, cap=cap: (v["holds"], np.array([float(c.problems[0].nu) * c.problems[0].p_S <= cap + 1e-12
                                                           for c in cases])),
        )  # fmt: skip
    for floor in (0.0, 0.01):
        add(
            "a", "gain > floor x teacher risk, floor =", floor,
            lambda cases, v, floor=floor: (v["margin"] > floor, None),
        )  # fmt: skip
    return rows + result.get("step_sensitivity", [])


def repaired(result) -> list[dict[str, Any]]:
    """Per paper claim, every reading with its paper-regime exact fractions; ``best`` marks the reading
    with the largest worst-model fraction (proved readings first on ties)."""
    models = result["models"]
    groups: dict[str, list] = {}
    for key, entry in result["claims"].items():
        c = entry["claim"]
        s = entry["strata"]["paper_regime"]
        low = min(s[m]["exact"]["ci95"][0] for m in models)
        worst = min((s[m]["exact"]["fraction"] for m in models), key=lambda x: -1 if math.isnan(x) else x)
        groups.setdefault(c.parent, []).append(
            {
                "key": key,
                "title": c.title,
                "statement": c.statement,
                "reading": c.reading,
                "proof": c.proof,
                "worst": worst,
                "low": low,
                "holds": low >= HOLDS_LOW,
            }  # fmt: skip
        )
    out = []
    for parent, rows in groups.items():
        best = max(rows, key=lambda r: (-1 if math.isnan(r["worst"]) else r["worst"], bool(r["proof"])))
        for r in rows:
            r["best"] = r is best
        out.append({"parent": parent, "rows": rows})
    return out


# --------------------------------------------------------------------------------- JSON
def _ce_json(ce):
    if ce is None:
        return None
    return {
        "stratum": ce["stratum"],
        "quantity": ce["quantity"],
        "theory": ce["theory"],
        "problems": [_problem_dict(q) for q in ce["problems"]],
        "simulation": ce.get("simulation"),
    }


def _printed_vs_exact_json(entry, models):
    """The four counts in the paper's regime under the first model, and ``by_stratum`` (stratum -> model
    -> counts); None where the printed forms do not test the reading."""
    pve = entry["printed_vs_exact"]
    if not pve:
        return None
    return {**pve["paper_regime"][models[0]], "stratum": "paper_regime", "model": models[0], "by_stratum": pve}


def _ridgeless_part(entry, model: str) -> dict[str, int]:
    """Exact verdicts on the box's cases with lambda_T = lambda_S = 0."""
    cases = entry["cases"]["box"]
    v = entry["v"]["box"][model]["exact"]
    sel = np.array([float(c.problems[0].ridge_teacher) == 0 and float(c.problems[0].ridge_student) == 0 for c in cases])
    s = summarise(v, sel)
    return {"holds": s["holds"], "n": s["n"] - s["errors"] - s["ties"]}


def _problem_dict(q) -> dict[str, Any]:
    d = q.to_dict()
    d["coordinates"] = coordinates(q)
    return d


def to_json(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON-serialisable part of :func:`w2s.claims.run_claims`' result."""
    models = list(result["models"])
    out = {k: result[k] for k in ("size", "seed", "z_crit", "comparisons", "seconds", "load", "cpus") if k in result}
    out["shapes"] = [list(s) for s in result["shapes"]]
    out["models"] = models
    out["box"] = {**result["common_text"], **{f"stratum {k}": v for k, v in result["strata_text"].items()}}
    out["claims"] = {}
    for key, entry in result["claims"].items():
        c = entry["claim"]
        row: dict[str, Any] = {
            "title": c.title,
            "parent": c.parent,
            "reading_kind": c.reading,
            "paper": c.paper,
            "reading": c.statement,
            "choices": c.choices,
            "proof": c.proof or None,
            "verdicts": {m: {meth: entry["strata"]["box"][m][meth] for meth in c.methods} for m in models},
            "strata": {s: stratum_summary(entry, s, models) for s in entry["strata"]},
            "printed_vs_exact": _printed_vs_exact_json(entry, models),
            "box": result["strata_text"]["box"],
            "exact_ridgeless_part": {m: _ridgeless_part(entry, m) for m in models},
            "regions": {m: region_table(entry, m) for m in models},
            "eta_u_star_confirmed": entry.get("confirm") or None,
            "counterexample": {},
        }
        row["counterexample_paper_regime"] = {}
        for m, ces in entry.get("counterexample", {}).items():
            row["counterexample"][m] = _ce_json(ces.get("nearest"))
            row["counterexample_paper_regime"][m] = _ce_json(ces.get("paper_regime"))
        out["claims"][key] = row
    out["sensitivity"] = sensitivity(result)
    out["repaired"] = repaired(result)
    out["d_thresholds"] = result["d_thresholds"]
    out["paper_example"] = [r for r in result["d_thresholds"] if r["eta_l"] == 0.5 and r["eta_u"] != 0.5]
    out["d_fails_earlier_at_nu"] = result["d_earlier"]
    out["mechanisms"] = result["mechanisms"]
    return out


# ------------------------------------------------------------------------------ figures
def _telling_axes(entry, models) -> tuple[str, str]:
    """The two coordinates that best separate failing from holding cases under the exact theory,
    pooled over models and strata: largest |AUC - 1/2| (ties to the claim's default axes)."""
    from scipy.stats import rankdata

    coords, fail = [], []
    for stratum, cases in entry["cases"].items():
        for m in models:
            v = entry["v"][stratum][m]["exact"]
            for i, c in enumerate(cases):
                if v["bad"][i] or v["skip"][i]:
                    continue
                coords.append(coordinates(c.problems[0]))
                fail.append(not v["holds"][i])
    fail = np.array(fail)
    if fail.sum() == 0 or fail.all():
        return entry["claim"].default_axes
    scores = {}
    for name in coords[0]:
        x = np.array([c[name] for c in coords], dtype=float)
        ok = np.isfinite(x)
        if not ok.any() or np.ptp(x[ok]) == 0:
            continue
        r, f = rankdata(x[ok]), fail[ok]
        n1, n0 = f.sum(), (~f).sum()
        if n1 and n0:
            scores[name] = abs((r[f].sum() - n1 * (n1 + 1) / 2) / (n1 * n0) - 0.5)
    best = sorted(scores, key=lambda k: -scores[k])[:2]
    return tuple(best) if len(best) == 2 else entry["claim"].default_axes


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _region_figure(entry, models, axes_names, path: Path) -> None:
    plt = _plt()
    fig, axs = plt.subplots(1, len(models), figsize=(7.6, 3.1), constrained_layout=True, sharex=True, sharey=True)
    for ax, m in zip(np.atleast_1d(axs), models, strict=True):
        for stratum, marker in (("box", "o"), ("paper_regime", "^")):
            v = entry["v"][stratum][m]["exact"]
            pts = [(coordinates(c.problems[0]), v["holds"][i]) for i, c in enumerate(entry["cases"][stratum])
                   if not v["bad"][i] and not v["skip"][i]]  # fmt: skip
            for flag, colour in ((True, "#4a7fb5"), (False, "#c0392b")):
                xs = [p[0][axes_names[0]] for p in pts if p[1] == flag]
                ys = [p[0][axes_names[1]] for p in pts if p[1] == flag]
                label = f"{'holds' if flag else 'fails'}, {STRATA[stratum].title}"
                ax.scatter(xs, ys, s=7 if flag else 12, c=colour, marker=marker, alpha=0.45 if flag else 0.9,
                           lw=0, label=label)  # fmt: skip
        ax.set_title(f"{m} (exact theory)", fontsize=9)
        ax.set_xlabel(axes_names[0], fontsize=8)
        ax.tick_params(labelsize=7)
    np.atleast_1d(axs)[0].set_ylabel(axes_names[1], fontsize=8)
    np.atleast_1d(axs)[-1].legend(fontsize=6, loc="best")
    fig.savefig(path, dpi=72)
    plt.close(fig)


def _thresholds_figure(rows, path: Path) -> None:
    plt = _plt()
    nus = sorted({r["nu"] for r in rows})
    models = list(dict.fromkeys(r["group_model"] for r in rows))
    which = [("paper", "(eta_u - eta_l)^2 = 0.08"), ("half", "eta_u = 0.5")]
    fig, axs = plt.subplots(1, 2, figsize=(8.4, 3.3), constrained_layout=True, sharey=True)
    cap = rows[0]["scanned_to"] * 1.3
    for ax, (tag, title) in zip(axs, which, strict=True):
        sel = [r for r in rows if (abs(r["eta_u"] - 0.5) < 1e-12) == (tag == "half") and r["nu"] == nus[0]]
        sel = [r for r in sel if not (tag == "half" and r["eta_l"] == 0.5)]
        for m, colour in zip(models, ("C0", "C1", "C2"), strict=False):
            for p_T, mk in zip(sorted({r["p_T"] for r in sel}), ("o", "s", "^"), strict=False):
                pts = sorted((r["eta_l"], r) for r in sel if r["group_model"] == m and r["p_T"] == p_T)
                x = [e for e, _ in pts]
                ex = [r["exact"] if r["exact"] is not None else cap for _, r in pts]
                lo = [r["leading_order"] if r["leading_order"] is not None else cap for _, r in pts]
                ax.plot(x, ex, marker=mk, color=colour, ms=4, lw=1, label=f"exact, {m}, p_T={p_T}")
                ax.plot(x, lo, marker=mk, color=colour, ms=3, lw=0.8, ls=":", mfc="none")
        ax.axhline(rows[0]["scanned_to"], color="0.6", lw=0.6)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = sorted({r["eta_l"] for r in sel})
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set_xlabel("eta_l = eta_t", fontsize=8)
        ax.set_title(f"{title}, nu_z = {nus[0]:g} (dotted: leading order)", fontsize=8)
        ax.tick_params(labelsize=7)
    axs[0].set_ylabel("threshold ||mu_T||^2/sigma_xi^2 (above line: none)", fontsize=8)
    axs[1].legend(fontsize=5.5, ncol=2)
    fig.savefig(path, dpi=72)
    plt.close(fig)


# ----------------------------------------------------------------------------- Markdown
def _problem_line(q) -> str:
    s, c = q.summary(), coordinates(q)
    return (
        f"{q.group_model}, p_T={q.p_T}, p_S={q.p_S}, ||Xi||_F^2={s['similarity']:.3g}, "
        f"||mu_T||^2={s['mu_T2']:.3g}, ||mu_S||^2={s['mu_S2']:.3g}, ||Xi mu_S||/||mu_T||="
        f"{c['||Xi mu_S|| / ||mu_T||']:.3g}, ||B mu_S||/||mu_T||={c['||B mu_S|| / ||mu_T||']:.3g}, "
        f"eta_l={q.eta_l:.3f}, eta_u={q.eta_u:.3f}, eta_t={q.eta_t:.3f}, gamma_z={q.gamma:.3g}, nu_z={q.nu:.3g}, "
        f"ridge_T={q.ridge_teacher:.3g}, ridge_S={q.ridge_student:.3g}"
    )


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


QUANTITY_TEXT = {
    "gain": "the W2S gain",
    "gain difference": "gain(second) - gain(first)",
    "student difference": "student risk(second) - student risk(first)",
}


def _counterexample_md(ce, z_crit) -> list[str]:
    if ce is None:
        return ["none."]
    lines = []
    qs = ce["problems"]
    for j, q in enumerate(qs):
        label = "problem" if len(qs) == 1 else ("first" if j == 0 else "second")
        lines.append(f"* {label}: {_problem_line(q)}")
        lines.append(f"  (`--set` form: `{_set_form(q)}`)")
    lines.append(f"* exact theory: {QUANTITY_TEXT[ce['quantity']]} = {ce['theory']:.4g}")
    sims = ce.get("simulation")
    if sims:
        lines += [
            "",
            f"| d_z | n | N | trials | simulation (mean ± se) | z vs theory | agrees (abs z <= {z_crit:.2f}) "
            "| sign confirmed |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in sims:
            lines.append(
                f"| {r['d_z']} | {r['n']} | {'inf' if r['N'] is None else r['N']} | {r['trials']} | "
                f"{r['mean']:.4g} ± {r['se']:.2g} | {r['z']:+.2f} | {'yes' if r['agrees'] else 'no'} | "
                f"{'yes' if r['sign_confirmed'] else 'no'} |"
            )
    elif "simulation" not in ce:
        lines.append("* simulator check: not run (theory only)")
    return lines


def _status(r) -> str:
    return f"*proved* {r['proof']}" if r["proof"] else "*machine-checked*"


def _verdict_word(r) -> str:
    if r["holds"]:
        return "**holds**"
    return "mostly" if r["worst"] >= 0.8 else "fails"


def report_markdown(result: dict[str, Any], fig_dir: Path, rel: str) -> str:
    """The report's Markdown (between the markers), writing the figures into ``fig_dir``."""
    fig_dir.mkdir(parents=True, exist_ok=True)
    models = list(result["models"])
    claims = result["claims"]
    strata_n = {s: sum(len(e["cases"][s]) for e in claims.values()) for s in STRATA}
    L = [
        f"Generated by `w2s claims{' --quick' if result['size'] == 'quick' else ''}` ({result['size']} run, seed "
        f"{result['seed']}; (p_T, p_S) in {', '.join(str(tuple(s)) for s in result['shapes'])}; "
        f"{strata_n['paper_regime']} cases in the paper's regime and {strata_n['box']} in the box, each evaluated "
        f"under {' and '.join(models)}; {result.get('seconds', float('nan')):.0f} s on {result.get('cpus', '?')} "
        f"CPUs, load average {result.get('load', float('nan')):.1f} at the end).",
        "",
        "### Statements that hold on the paper's regime",
        "",
        f"Per claim of the paper, each reading with its exact-theory fraction in the paper's regime under "
        f"{' / '.join(models)} (95 % Wilson interval). A reading **holds** when every model's interval lies above "
        f"{HOLDS_LOW:g}; the reading marked with a star is the strongest the measurements support (largest "
        "worst-model fraction). *Proved* names where the statement is proved and for which evaluation; "
        "*machine-checked* statements rest on these samples alone.",
        "",
    ]
    for group in repaired(result):
        L.append(f"**{BY_KEY[group['rows'][0]['key']].paper}**")
        L.append("")
        for r in group["rows"]:
            s = claims[r["key"]]["strata"]["paper_regime"]
            cells = " / ".join(_frac(s[m]["exact"]) for m in models)
            star = " ★" if r["best"] else ""
            L.append(
                f"* {_verdict_word(r)}{star} ({READING_NAMES[r['reading']]}) {r['statement']} — {cells}. {_status(r)}."
            )
        L.append("")
    L += _summary_tables(result, models)
    L += _printed_exact_md(result, models)
    L += _regions_md(result, models)
    L += _sensitivity_md(result, models)
    L += _thresholds_md(result, fig_dir, rel)
    L += _mechanisms_md(result)
    L += _claim_sections(result, models, fig_dir, rel)
    return "\n".join(L)


def _summary_tables(result, models) -> list[str]:
    L = []
    for stratum, s in STRATA.items():
        head = (
            "| claim | reading | printed forms | "
            + " | ".join(f"leading order, {m} | exact, {m}" for m in models)
            + " |"
        )
        L += [
            f"### Fraction where each reading holds: {s.title}",
            "",
            f"{s.text}. Fractions with 95 % Wilson intervals and the number of cases (errors and ties left out; "
            "the printed forms do not depend on the group model: their column is the first model's).",
            "",
            head,
            "|---|---|---|" + "---|---|" * len(models),
        ]
        for entry in result["claims"].values():
            c = entry["claim"]
            st = entry["strata"][stratum]
            printed = _frac(st[models[0]].get("printed"))
            cells = " | ".join(f"{_frac(st[m].get('leading'))} | {_frac(st[m]['exact'])}" for m in models)
            L.append(f"| {c.title} | {c.reading} | {printed} | {cells} |")
        L.append("")
    return L


def _printed_exact_md(result, models) -> list[str]:
    L = [
        "### Printed forms x exact theory",
        "",
        "Per reading that the printed forms test, the cases where both hold, only the printed forms, only the "
        "exact theory, or neither. 'Printed only' is where the leading order fails; 'neither' is where the "
        "statement contradicts the paper's own formulas.",
        "",
        "| claim | stratum | model | both | printed only | exact only | neither |",
        "|---|---|---|---|---|---|---|",
    ]
    for entry in result["claims"].values():
        for stratum, by_model in entry["printed_vs_exact"].items():
            for m in models:
                t = by_model[m]
                L.append(
                    f"| {entry['claim'].title} | {STRATA[stratum].title} | {m} | {t['both']} | {t['printed_only']} "
                    f"| {t['exact_only']} | {t['neither']} |"
                )
    return L + [""]


def _regions_md(result, models) -> list[str]:
    head, bins = [], []
    for name, bs in REGION_BINS.items():
        for lo, hi in bs:
            label = (
                f"{name} = 0" if hi == 0.0 else f"{name} > {lo:g}" if hi == math.inf else f"{name} in ({lo:g}, {hi:g}]"
            )
            head.append(label)
            bins.append((name, len(bins)))
    L = [
        "### Where each reading fails: exact fractions by region",
        "",
        "Both strata pooled; each cell is fraction (cases).",
        "",
        "| claim | model | " + " | ".join(head) + " |",
        "|---|---|" + "---|" * len(head),
    ]
    for entry in result["claims"].values():
        for m in models:
            table = region_table(entry, m)
            cells = []
            for name in REGION_BINS:
                for cell in table[name]:
                    d = cell["n"] - cell["errors"] - cell["ties"]
                    cells.append(f"{cell['fraction']:.2f} ({d})" if d else "–")
            L.append(f"| {entry['claim'].title} | {m} | " + " | ".join(cells) + " |")
    return L + [""]


def _sensitivity_md(result, models) -> list[str]:
    cols = [f"{STRATA[s].title}, {m}" for s in STRATA for m in models]
    L = [
        "### Sensitivity to the audit's own thresholds",
        "",
        "Exact-theory fractions of a reading re-read with another value of a threshold that is our choice "
        "(from the same cases; a smaller precondition selects a subset).",
        "",
        "| claim | threshold | value | " + " | ".join(cols) + " |",
        "|---|---|---|" + "---|" * len(cols),
    ]
    for r in sensitivity(result):
        cells = [_frac(r["cells"][f"{s}|{m}"]) for s in STRATA for m in models]
        L.append(f"| {BY_KEY[r['claim']].title} | {r['what']} | {r['value']:g} | " + " | ".join(cells) + " |")
    return L + [""]


def _thresholds_md(result, fig_dir, rel) -> list[str]:
    rows = result["d_thresholds"]
    if not rows:
        return ["### Claim (d): thresholds", "", "Not computed in a quick run.", ""]
    _thresholds_figure(rows, fig_dir / "claim_d_thresholds.png")
    L = [
        "### Claim (d): where W2S fails, per group model",
        "",
        f"Xi = 0 (p_S = 2, the student's direction orthogonal to the teacher's, ||mu_S|| = 0), eta_t = eta_l, "
        f"gamma_z = {rows[0]['gamma']:g}, ridgeless. The exact threshold is the first separation "
        f"||mu_T||^2/sigma_xi^2 where the exact gain turns negative (geometric grid up to "
        f"{rows[0]['scanned_to']:g}, refined by bisection); the leading-order one is the bounded-penalty closed form "
        "(mixture) or the printed form (mean-shift), which do not depend on nu_z; the printed one is "
        "(p_T - 1)/((eta_u - eta_l)^2 - (eta_t - eta_l)^2), the paper's 12.5 (p_T - 1) when (eta_u - eta_l)^2 = "
        f"0.08. 'none' = no failure up to {rows[0]['scanned_to']:g}.",
        "",
        "| model | p_T | eta_l = eta_t | eta_u | nu_z | exact | leading order | printed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        L.append(
            f"| {r['group_model']} | {r['p_T']} | {r['eta_l']:g} | {r['eta_u']:.4g} | {r['nu']:g} | "
            f"{_fmt(r['exact'] if r['exact'] is not None else math.inf, 4)} | "
            f"{_fmt(r['leading_order'] if r['leading_order'] is not None else math.inf, 4)} | "
            f"{_fmt(r['printed'] if r['printed'] is not None else math.inf, 4)} |"
        )
    L += ["", f"![claim d: thresholds]({rel}/claim_d_thresholds.png)", ""]
    for m, e in result["d_earlier"].items():
        L.append(
            f"* 'fails earlier at nu_z > 0', {m}: the exact threshold at the larger nu_z is at most the one at "
            f"nu_z = 0 in {e['holds']} of {e['n']} settings ({e['ties']} settings fail at neither)."
        )
    return L + [""]


def _mechanisms_md(result) -> list[str]:
    mech = result["mechanisms"]
    L = [
        "### The mechanisms against the exact theory",
        "",
        "The leading-order forms of the section 'Mechanisms' (below the generated block), against the exact theory "
        "as gamma_z -> 0 (mixture): a deviation that shrinks in proportion to gamma_z is what a correct leading "
        "order does.",
        "",
        "| check | gamma_z p_T | cases | deviation |",
        "|---|---|---|---|",
    ]
    for r in mech["bounded_penalty"]:
        L.append(
            f"| bounded penalty: max abs(exact gain / (sigma_y^2 gamma_z) - form) | {r['gamma_z p_T']:g} | {r['n']} | "
            f"{r['max_abs_deviation']:.3g} |"
        )
    for r in mech["coupling"]:
        L.append(
            f"| coupling: max relative deviation of the student risk, leading order with B | {r['gamma_z p_T']:g} | "
            f"{r['n']} | {r['max_rel_deviation_leading']:.3g} |"
        )
        L.append(
            f"| coupling: the same with Xi in place of B (printed) | {r['gamma_z p_T']:g} | {r['n']} | "
            f"{r['max_rel_deviation_printed']:.3g} |"
        )
    return L + [""]


def _claim_sections(result, models, fig_dir, rel) -> list[str]:
    L = [
        "### The claims one by one",
        "",
        f"Counterexamples are shown for the literal readings. *Nearest*: among the cases where the printed forms "
        f"hold and the exact theory fails by at least {VIOLATION:.0%} of the teacher risk (eta_u* trends: by "
        f"{VIOLATION:g} in eta_u), with gamma_z p_T >= {SIMULABLE:g} (so that n = d_z / gamma_z stays simulable), "
        "the one nearest the printed forms' regime (smallest gamma_z p_T + nu_z p_S + ridges), re-simulated at two "
        "core dimensions; *paper's regime*: the largest exact violation in the paper's regime (theory only). "
        f"Simulator rule: agreement when |mean - theory| <= z* se, z* = {result.get('z_crit', float('nan')):.2f}, "
        f"the two-sided Bonferroni value for a 1 % chance of any false disagreement over the report's "
        f"{result.get('comparisons', 0)} comparisons; the violation's sign is confirmed when the mean has the "
        "theory's sign and |mean| > z* se. The theory is the d_z -> infinity limit: a finite-d_z bias shows as "
        "|z| that does not shrink from the smaller to the larger d_z.",
        "",
    ]
    done = set()
    for key, entry in result["claims"].items():
        c = entry["claim"]
        L += [
            f"#### {c.title}",
            "",
            f"* **Paper:** {c.paper}" if c.parent not in done else f"* **Reads:** claim {c.parent}",
            f"* **Reading ({READING_NAMES[c.reading]}):** {c.statement}",
            f"* **Choices that are ours:** {c.choices}",
        ]
        if c.proof:
            L.append(f"* **Proved** {c.proof}.")
        done.add(c.parent)
        conf = entry.get("confirm") or {}
        if conf:
            L.append(
                f"* **eta_u* at failing points** confirmed on a {GRID_POINTS}-point eta_u grid (the bisection's "
                "point is at least as good as every grid point): "
                + "; ".join(f"{m} {conf[m]['confirmed']} of {conf[m]['checked']}" for m in models)
                + "."
            )
        L.append("")
        if c.reading == "literal" and c.simulate:
            axes_names = _telling_axes(entry, models)
            name = f"claim_{key}.png"
            _region_figure(entry, models, axes_names, fig_dir / name)
            L += [
                f"Failing region (exact theory, both strata) in the two coordinates that best separate failing "
                f"from holding cases (largest |AUC - 1/2|): {axes_names[0]} and {axes_names[1]}.",
                "",
                f"![claim {key}: failing region]({rel}/{name})",
                "",
            ]
        for m in models:
            for which, label in (("nearest", "nearest"), ("paper_regime", "paper's regime, largest violation")):
                ce = entry.get("counterexample", {}).get(m, {}).get(which, "absent")
                if ce == "absent":
                    continue
                L.append(f"*Counterexample, {m}, {label}:*")
                L.append("")
                L += _counterexample_md(ce, result.get("z_crit", 3.0))
                L.append("")
    return L


def write_report(result: dict[str, Any], doc: Path) -> None:
    """Replace the text between the claims markers of ``doc`` with the report; figures go to
    ``doc``'s folder / ``claims``."""
    write_between(doc, "claims", report_markdown(result, doc.parent / "claims", "claims"))
