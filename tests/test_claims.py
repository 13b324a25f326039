"""The claims audit: each verdict's computation on a tiny box, batching and error counting, the CLI.

The printed-form verdicts are recomputed here from the printed formulas in NumPy, problem by
problem, so a wrong predicate, a mixed-up pair or a batching bug shows as a mismatch.
"""

import math

import numpy as np
import pytest

import asymptotics
from w2s import claims
from w2s.cli import main

from ._direct import risks as direct_risks  # jit(asymptotics.risks), shared with test_compiled

CLAIM = {c.key: c for c in claims.CLAIMS}
SHAPE = ((3, 2),)  # the shape other tests compile too


def _printed_gain(q):
    mu_T, Xi, mu_S = np.asarray(q.mu_T), np.asarray(q.Xi), np.asarray(q.mu_S)
    el, eu, et = q.eta_l, q.eta_u, q.eta_t
    teacher = q.gamma * (q.p_T + (et - el) ** 2 * mu_T @ mu_T)
    shift = (eu - el) * mu_T + (et - eu) * (Xi @ mu_S)
    student = q.gamma * (1 + np.sum(Xi**2) + shift @ shift)
    return teacher - student, teacher


def test_claim_a_printed_verdict_matches_the_formula():
    sets = claims.sample_sets(CLAIM["a"], SHAPE, "mixture", 24, seed=1)
    assert all(s[0].eta_u == s[0].eta_l and s[0].nu <= 0.05 for s in sets)
    r = claims.evaluate_claim(claims.dataclasses.replace(CLAIM["a"], methods=("printed",)), {"mixture": sets})[
        "mixture"
    ]["printed"]
    want = sum(_printed_gain(s[0])[0] > 0 for s in sets)
    assert r["holds"] == want and r["n"] == 24 and r["errors"] == 0


@pytest.mark.parametrize("key", ["c", "headline"])
def test_pair_claims_printed_verdict_matches_the_formula(key):
    claim = claims.dataclasses.replace(CLAIM[key], methods=("printed",))
    sets = claims.sample_sets(claim, SHAPE, "mean-shift", 24, seed=2)
    r = claims.evaluate_claim(claim, {"mean-shift": sets})["mean-shift"]["printed"]
    want = sum(_printed_gain(b)[0] < _printed_gain(a)[0] for a, b in sets)
    assert r["holds"] == want
    if key == "headline":  # the pair differs in eta_u only, the second farther from eta_l, same side
        for a, b in sets:
            da, db = a.eta_u - a.eta_l, b.eta_u - b.eta_l
            assert da * db >= 0 and abs(db) == pytest.approx(abs(da) + claims.ETA_STEP)


def test_claim_b_printed_verdict_matches_the_closed_form():
    claim = CLAIM["b"]
    sets = claims.sample_sets(claim, SHAPE, "mixture", 16, seed=3)
    for (q,) in sets:
        assert claims.coordinates(q)["||Xi mu_S|| / ||mu_T||"] <= 0.1
    r = claims.evaluate_claim(claims.dataclasses.replace(claim, methods=("printed",)), {"mixture": sets})
    r = r["mixture"]["printed"]
    want = 0
    for (q,) in sets:
        d = np.asarray(q.mu_T) - np.asarray(q.Xi) @ np.asarray(q.mu_S)
        star = d @ (q.eta_l * np.asarray(q.mu_T) - q.eta_t * np.asarray(q.Xi) @ np.asarray(q.mu_S)) / (d @ d)
        want += abs(min(max(star, 0.0), 1.0) - q.eta_l) <= claim.tol
    assert r["holds"] == want


def test_claim_d_printed_checks_hold_by_construction_and_xi_zero_threshold():
    bases, thr, checks, signs = claims.sample_d(SHAPE, "mixture", 20, seed=4)
    r = claims.evaluate_d(bases, thr, checks, signs, methods=("printed",))["printed"]
    assert r["n"] + r["unchecked"] == 20
    assert r["holds"] == r["n"] > 0  # the printed threshold is the printed gain's root
    q = asymptotics  # Xi = 0: (p_T - 1) / ((eta_u - eta_l)^2 - (eta_t - eta_l)^2), the paper's 12.5 (p_T - 1)
    p = claims.Problem.from_scalars(p_T=3, p_S=2, mu_T2=1.0, **claims.PAPER_EXAMPLE)
    assert float(q.failure_threshold_printed(p)) == pytest.approx(12.5 * 2)
    # and the printed gain's scan finds it on the grid
    grid = np.linspace(0.0, 50.0, 201)[1:]
    s = claims.scan_boundary([p], grid, "printed")
    assert s[0] == pytest.approx(25.0, rel=1e-9)


@pytest.mark.parametrize("method", ["leading", "exact"])
def test_batched_evaluation_matches_one_problem_at_a_time(method):
    """The compiled, padded batches give the same gains as unbatched calls, for both group models."""
    for model in ("mixture", "mean-shift"):
        sets = claims.sample_sets(CLAIM["a"], SHAPE, model, 3, seed=5)
        problems = [s[0] for s in sets]
        out, failed = claims.evaluate(problems, method)
        assert not failed.any()
        name = "paper" if method == "leading" else "exact"
        for q, g in zip(problems, out["gain"], strict=True):
            assert g == pytest.approx(float(direct_risks(q, name)["gain"]), rel=1e-10, abs=1e-13)


def test_a_point_that_does_not_converge_is_counted_not_dropped(monkeypatch, tmp_path):
    from asymptotics import _compiled

    def boom(problem, method):  # "converges" only where eta_t <= 0.9
        out, _ = _compiled._risks(problem, "paper")
        return out, problem.eta_t <= 0.9

    monkeypatch.setenv("W2S_CACHE", str(tmp_path))  # the patched program must not meet the real one
    monkeypatch.setitem(_compiled.QUANTITIES, "boom", boom)
    monkeypatch.setitem(claims.THEORY, "boom", ("boom", "paper", None))
    monkeypatch.setattr(claims, "CHUNK", 4)
    _compiled.compiled.cache_clear()
    try:
        base = claims.Problem.from_scalars(p_T=3, p_S=2, mu_T2=2.0, eta_l=0.2, eta_u=0.4)
        problems = [base.replace(eta_t=t) for t in (0.1, 0.95, 0.5, 0.3, 0.99)]
        out, failed = claims.evaluate(problems, "boom")
    finally:
        _compiled.compiled.cache_clear()
    assert failed.tolist() == [False, True, False, False, True]
    assert np.isnan(out["gain"][1]) and np.isnan(out["gain"][4])
    want = [float(asymptotics.risks(q, "paper")["gain"]) for q in problems]
    assert np.allclose(out["gain"][[0, 2, 3]], np.array(want)[[0, 2, 3]], rtol=1e-12)


def test_nearest_counterexample_is_the_failing_point_nearest_the_printed_regime():
    sets = claims.sample_sets(CLAIM["a"], SHAPE, "mixture", 6, seed=6)
    holds = np.array([True, False, True, False, False, True])
    exact = {"_holds_mask": holds, "_bad": np.zeros(6, bool), "_margin": np.where(holds, 1.0, -1.0)}
    idx = claims.nearest_counterexample(sets, exact)
    dist = [claims.regime_distance(s[0]) for s in sets]
    assert idx == min((i for i in range(6) if not holds[i]), key=lambda i: dist[i])
    assert claims.nearest_counterexample(sets, {**exact, "_holds_mask": np.ones(6, bool)}) is None


def test_box_reproduces_with_the_seed():
    a = claims.sample_sets(CLAIM["headline"], SHAPE, "mixture", 4, seed=7)
    b = claims.sample_sets(CLAIM["headline"], SHAPE, "mixture", 4, seed=7)
    for (x1, x2), (y1, y2) in zip(a, b, strict=True):
        assert x1.to_dict() == y1.to_dict() and x2.to_dict() == y2.to_dict()


def test_z_star_is_the_bonferroni_value():
    assert claims.z_star(1, 0.05) == pytest.approx(1.959964, abs=1e-6)
    assert claims.z_star(10, 0.01) == pytest.approx(3.290527, abs=1e-6)
    assert math.isfinite(claims.z_star(0))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seed", "-1"], "--seed: must be an integer in [0, 2^63)"),
        (["--quick", "--doc", "no/such/file.md"], "--doc: 'no/such/file.md' does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, message, capsys):
    assert main(["claims", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_doc_without_markers_is_rejected(tmp_path, capsys):
    doc = tmp_path / "x.md"
    doc.write_text("no markers\n")
    assert main(["claims", "--quick", "--doc", str(doc)]) == 2
    assert "has no <!-- claims:begin -->" in capsys.readouterr().err


@pytest.mark.slow
def test_quick_run_counterexamples_are_reproduced_by_the_simulator(tmp_path):
    """The quick run end to end; every counterexample's simulation agrees with the exact theory
    at the larger d_z under the report's rule (seeded: the quick run's fixed seed, so the
    comparison is reproducible)."""
    result = claims.run_claims("quick", progress=False)
    checked = 0
    for entry in result["claims"].values():
        for ce in entry["counterexample"].values():
            if ce is None:
                continue
            last = ce["simulation"][-1]
            assert last["agrees"], (entry["claim"].title, ce["simulation"])
            checked += 1
    assert checked > 0
    from w2s.commands.claims import BEGIN, END, write_report

    doc = tmp_path / "claims.md"
    doc.write_text(f"head\n{BEGIN}\n{END}\n")
    write_report(result, doc)
    text = doc.read_text()
    assert "### (a)" in text and (tmp_path / "claims" / "claim_a.png").exists()


def test_ridgeless_part_counts_only_points_without_ridges():
    from w2s.commands.claims import ridgeless_part

    sets = claims.sample_sets(CLAIM["a"], SHAPE, "mixture", 12, seed=8)
    ridgeless = np.array([s[0].ridge_teacher == 0 and s[0].ridge_student == 0 for s in sets])
    holds = np.arange(12) % 2 == 0
    bad = np.zeros(12, bool)
    bad[0] = True
    entry = {"verdicts": {"mixture": {"exact": {"_holds_mask": holds, "_bad": bad}}}, "sets": {"mixture": sets}}
    good = ridgeless & ~bad
    assert ridgeless_part(entry, "mixture") == (int((holds & good).sum()), int(good.sum()))
