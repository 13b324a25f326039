"""The claims audit: each reading's verdict on a tiny sample, the strata and pairing, the
mechanisms' closed forms, batching and error counting, the report's JSON, the CLI.

The printed-form verdicts are recomputed here from the printed formulas in NumPy, case by case,
so a wrong predicate, a mixed-up pair or a batching bug shows as a mismatch.
"""

import math
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import asymptotics
from asymptotics import symbolic
from setting.problem import Problem
from w2s import claims
from w2s.claims import _engine, _mechanisms, _sampling
from w2s.cli import main

from ._direct import risks as direct_risks  # jit(asymptotics.risks), shared with test_compiled

CLAIM = claims.BY_KEY
SHAPE = ((3, 2),)  # the shape other tests compile too


def _printed_gain(q):
    mu_T, Xi, mu_S = np.asarray(q.mu_T), np.asarray(q.Xi), np.asarray(q.mu_S)
    el, eu, et = q.eta_l, q.eta_u, q.eta_t
    teacher = q.gamma * (q.p_T + (et - el) ** 2 * mu_T @ mu_T)
    shift = (eu - el) * mu_T + (et - eu) * (Xi @ mu_S)
    student = q.gamma * (1 + np.sum(Xi**2) + shift @ shift)
    return teacher - student


def _verdict(key, cases, method="printed", model="mixture"):
    return claims.verdicts(CLAIM[key], claims._run._under(cases, model), method)


@pytest.mark.parametrize("stratum", ["paper_regime", "box"])
def test_claim_a_printed_verdict_matches_the_formula(stratum):
    cases = claims.sample_cases(CLAIM["a"], SHAPE, stratum, 24, seed=1)
    for c in cases:
        q = c.problems[0]
        assert q.eta_u == q.eta_l and q.nu * q.p_S <= 0.05 + 1e-12
        if stratum == "paper_regime":
            assert _sampling.in_paper_regime(q)
    v = _verdict("a", cases)
    assert v["holds"].tolist() == [bool(_printed_gain(c.problems[0]) > 0) for c in cases]


def test_paper_regime_is_ridgeless_and_small_and_the_box_draws_ridges_around_lambda_ref():
    paper = claims.sample_cases(CLAIM["headline"], SHAPE, "paper_regime", 40, seed=2)
    assert all(_sampling.in_paper_regime(q) for c in paper for q in c.problems)
    box = [c.problems[0] for c in claims.sample_cases(CLAIM["headline"], SHAPE, "box", 80, seed=2)]
    ratios = [q.ridge_student / _sampling.lambda_ref(q.gamma, q.p_T) for q in box if q.ridge_student > 0]
    assert 20 < len(ratios) < 60 and all(0.1 - 1e-12 <= r <= 10 + 1e-9 for r in ratios)


@pytest.mark.parametrize("key", ["c", "c_fixed", "headline", "headline_star"])
def test_pair_claims_printed_verdict_matches_the_formula(key):
    cases = claims.sample_cases(CLAIM[key], SHAPE, "box", 24, seed=3)
    v = _verdict(key, cases, model="mean-shift")
    want = [bool(_printed_gain(c.problems[1]) < _printed_gain(c.problems[0])) for c in cases]
    assert v["holds"].tolist() == want
    if key in ("c_fixed", "headline_star"):  # the supported readings hold for the printed forms by construction
        assert all(want)
    if key == "c_fixed":  # Xi mu_S is the same in both problems, ||Xi||_F^2 larger in the second
        for a, b in (c.problems for c in cases):
            np.testing.assert_allclose(np.asarray(a.Xi) @ np.asarray(a.mu_S), np.asarray(b.Xi) @ np.asarray(b.mu_S))
            assert b.summary()["similarity"] > a.summary()["similarity"]
    if key == "headline":  # the pair differs in eta_u only, the second farther from eta_l, same side
        for a, b in (c.problems for c in cases):
            da, db = a.eta_u - a.eta_l, b.eta_u - b.eta_l
            assert da * db >= 0 and abs(db) == pytest.approx(abs(da) + claims._definitions.ETA_STEP)


def test_claim_b_printed_verdict_matches_the_closed_form_and_the_bound():
    claim = CLAIM["b"]
    cases = claims.sample_cases(claim, SHAPE, "box", 16, seed=4)
    v = _verdict("b", cases)
    for c, ok, star in zip(cases, v["holds"], v["star"], strict=True):
        q = c.problems[0]
        rho = claims.coordinates(q)["||Xi mu_S|| / ||mu_T||"]
        assert rho <= 0.1
        d = np.asarray(q.mu_T) - np.asarray(q.Xi) @ np.asarray(q.mu_S)
        s = d @ (q.eta_l * np.asarray(q.mu_T) - q.eta_t * np.asarray(q.Xi) @ np.asarray(q.mu_S)) / (d @ d)
        assert star == pytest.approx(min(max(s, 0.0), 1.0), abs=1e-12)
        assert ok == (abs(star - q.eta_l) <= claim.tol)
        assert abs(s - q.eta_l) <= abs(q.eta_t - q.eta_l) * rho / (1 - rho) + 1e-12  # the printed bound


def test_regret_reading_rereads_the_same_evaluation():
    cases = claims.sample_cases(CLAIM["b"], SHAPE, "box", 8, seed=5)
    v = _verdict("b", cases)
    r = _engine.reread(CLAIM["b_regret"], v)
    assert (r["holds"] == (v["regret_rel"] <= CLAIM["b_regret"].tol)).all()
    assert (v["regret_rel"] >= -1e-12).all()  # eta_u* is the printed minimiser: nothing beats it
    with pytest.raises(ValueError, match="cannot re-read"):
        _engine.reread(CLAIM["b"], v)


def test_claim_d_printed_checks_hold_by_construction_and_the_paper_threshold():
    for key in ("d", "d_below", "d_above"):
        cases = claims.sample_cases(CLAIM[key], SHAPE, "box", 12, seed=6)
        assert _verdict(key, cases)["holds"].all(), key
    p = Problem.from_scalars(p_T=3, p_S=2, mu_T2=1.0, eta_l=0.5, eta_t=0.5, eta_u=0.5 + math.sqrt(0.08))
    assert float(asymptotics.failure_threshold_printed(p)) == pytest.approx(12.5 * 2)
    # Xi = 0, mu_S = 0: the leading-order threshold is the printed one under mean-shift
    assert claims.leading_threshold("mean-shift", 3, 0.5, 0.5 + math.sqrt(0.08), 0.5) == pytest.approx(25.0)


@pytest.mark.parametrize("model", ["mixture", "mean-shift"])
def test_leading_threshold_is_where_the_leading_order_gain_changes_sign(model):
    for p_T, el, eu, et in [(2, 0.1, 0.5, 0.1), (3, 0.02, 0.5, 0.02), (4, 0.05, 0.9, 0.3), (3, 0.5, 0.9, 0.5)]:
        s = claims.leading_threshold(model, p_T, el, eu, et)
        base = Problem.from_scalars(p_T=p_T, p_S=2, mu_T2=1.0, eta_l=el, eta_u=eu, eta_t=et, group_model=model)

        def at(a, base=base):
            return float(direct_risks(base.replace(mu_xi=np.asarray(base.mu_xi) * math.sqrt(a)), "paper")["gain"])

        if math.isinf(s):
            assert at(1e6) > 0
        else:
            assert at(0.99 * s) > 0 > at(1.01 * s)
    # the mixture never fails at the paper's example eta_l = eta_t = 1/2, for any eta_u and p_T >= 2
    assert all(math.isinf(claims.leading_threshold("mixture", p, 0.5, eu, 0.5)) for p in (2, 3) for eu in (0, 0.9, 1))


def test_bounded_penalty_is_proved_and_the_sympy_check_can_fail():
    residuals = symbolic.mechanism_residuals()
    assert len(residuals) == 5 and all(r == 0 for r in residuals.values())
    teacher, student = symbolic.leading_traces("mixture")
    gain = (teacher - student).subs({symbolic.SYMBOLS["k"]: 1, symbolic.SYMBOLS["m3"]: 0})
    assert sp.cancel(sp.together(gain - symbolic.bounded_penalty() * sp.Rational(101, 100))) != 0


def test_effective_coupling_closed_form():
    q = Problem.from_scalars(p_T=3, p_S=2, similarity=0.3, mu_T2=4.0, mu_S2=9.0, eta_l=0.2, eta_u=0.4,
                                    eta_t=0.5)  # fmt: skip
    v, a_S = 0.2 * 0.8, 9.0
    B = claims.effective_coupling(q, 0.2)
    want = (np.asarray(q.Xi) @ np.asarray(q.mu_S) + v * a_S * np.asarray(q.mu_T)) / (1 + v * a_S)
    np.testing.assert_allclose(B @ np.asarray(q.mu_S), want, rtol=1e-12)
    np.testing.assert_allclose(claims.effective_coupling(q.replace(group_model="mean-shift"), 0.2), q.Xi, atol=1e-14)


def test_anti_aligned_scalar_problem_flips_mu_S_only():
    spec = dict(p_T=3, p_S=2, similarity=0.4, mu_T2=5.0, mu_S2=3.0, eta_l=0.1, eta_u=0.5, eta_t=0.3)
    a, b = _sampling.scalar_problem(**spec), _sampling.scalar_problem(sign=-1, **spec)
    np.testing.assert_allclose(a.mu_T, b.mu_T)
    np.testing.assert_allclose(np.asarray(b.mu_S), -np.asarray(a.mu_S), atol=1e-12)
    assert a.summary() == pytest.approx(b.summary())


def test_group_models_are_paired_on_the_same_geometry():
    cases = claims.sample_cases(CLAIM["headline"], SHAPE, "box", 4, seed=7)
    mix, ms = claims._run._under(cases, "mixture"), claims._run._under(cases, "mean-shift")
    for a, b in zip(mix, ms, strict=True):
        for x, y in zip(a.problems, b.problems, strict=True):
            dx, dy = x.to_dict(), y.to_dict()
            assert dx.pop("group_model") == "mixture" and dy.pop("group_model") == "mean-shift" and dx == dy


def test_sample_reproduces_with_the_seed():
    a = claims.sample_cases(CLAIM["headline"], SHAPE, "box", 4, seed=8)
    b = claims.sample_cases(CLAIM["headline"], SHAPE, "box", 4, seed=8)
    for x, y in zip(a, b, strict=True):
        assert [q.to_dict() for q in x.problems] == [q.to_dict() for q in y.problems]


@pytest.mark.parametrize("method", ["leading", "exact"])
def test_batched_evaluation_matches_one_problem_at_a_time(method):
    """The compiled, padded batches give the same gains as unbatched calls, for both group models."""
    for model in ("mixture", "mean-shift"):
        cases = claims.sample_cases(CLAIM["a"], SHAPE, "box", 3, seed=9)
        problems = [c.problems[0].replace(group_model=model) for c in cases]
        out, failed = claims.evaluate(problems, method)
        assert not failed.any()
        name = "paper" if method == "leading" else "exact"
        for q, g in zip(problems, out["gain"], strict=True):
            assert g == pytest.approx(float(direct_risks(q, name)["gain"]), rel=1e-10, abs=1e-13)


def test_the_projection_statement_holds_trial_by_trial_in_the_simulator():
    """Claim (a) repaired is a finite-d_z statement: with N = inf and a ridgeless student, every
    simulated teacher's student has no larger risk at eta_t = eta_u (up to round-off)."""
    import simulate

    cases = claims.sample_cases(CLAIM["a_projection"], SHAPE, "box", 3, seed=10)
    for c in cases:
        q = c.problems[0].replace(d_z=24)
        est = simulate.estimate(q, trials=6, seed=11, return_trials=True, progress=False)
        gain = np.asarray(est["per_trial"]["gain"])
        teacher = np.asarray(est["per_trial"]["teacher_risk"])
        assert (gain >= -1e-9 * teacher).all()


def test_a_point_that_does_not_converge_is_counted_not_dropped(monkeypatch, tmp_path):
    from asymptotics import _compiled

    def boom(problem, method):  # "converges" only where eta_t <= 0.9
        out, _ = _compiled._risks(problem, "paper")
        return out, problem.eta_t <= 0.9

    monkeypatch.setenv("W2S_CACHE", str(tmp_path))  # the patched program must not meet the real one
    monkeypatch.setitem(_compiled.QUANTITIES, "boom", boom)
    monkeypatch.setitem(_engine.THEORY, "boom", ("boom", "paper", None))
    monkeypatch.setattr(_engine, "CHUNK", 4)
    _compiled.compiled.cache_clear()
    try:
        base = Problem.from_scalars(p_T=3, p_S=2, mu_T2=2.0, eta_l=0.2, eta_u=0.4)
        problems = [base.replace(eta_t=t) for t in (0.1, 0.95, 0.5, 0.3, 0.99)]
        out, failed = claims.evaluate(problems, "boom")
    finally:
        _compiled.compiled.cache_clear()
    assert failed.tolist() == [False, True, False, False, True]
    assert np.isnan(out["gain"][1]) and np.isnan(out["gain"][4])
    want = [float(asymptotics.risks(q, "paper")["gain"]) for q in problems]
    assert np.allclose(out["gain"][[0, 2, 3]], np.array(want)[[0, 2, 3]], rtol=1e-12)


def test_summary_leaves_ties_and_errors_out_of_the_fraction():
    v = {
        "holds": np.array([True, False, True, True, False]),
        "bad": np.array([False, False, True, False, False]),
        "skip": np.array([False, False, False, True, True]),
    }
    s = claims.summarise(v)
    assert (s["n"], s["errors"], s["ties"], s["holds"]) == (5, 1, 2, 1) and s["fraction"] == 0.5
    lo, hi = s["ci95"]
    assert lo < 0.5 < hi


def test_wilson_and_z_star_values():
    assert claims.wilson(0, 0) == (0.0, 1.0)
    lo, hi = claims.wilson(40, 40)
    assert hi == 1.0 and lo == pytest.approx(0.9124, abs=1e-4)  # 40 / (40 + z^2)
    lo, hi = claims.wilson(50, 100)
    assert (lo, hi) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert claims.z_star(1, 0.05) == pytest.approx(1.959964, abs=1e-6)
    assert claims.z_star(10, 0.01) == pytest.approx(3.290527, abs=1e-6)


def test_d_thresholds_bracket_a_sign_change(monkeypatch):
    monkeypatch.setattr(_mechanisms, "D_P_T", (3,))
    monkeypatch.setattr(_mechanisms, "D_ETA_L", (0.05,))
    monkeypatch.setattr(_mechanisms, "D_NUS", (0.0,))
    rows = claims.d_thresholds(("mixture", "mean-shift"))
    assert len(rows) == 4
    keys = {"group_model", "p_T", "eta_l", "eta_u", "eta_t", "gamma", "nu", "exact", "leading_order", "printed",
            "scanned_to"}  # fmt: skip
    for r in rows:
        assert set(r) == keys
        if r["exact"] is None:
            continue
        q = _mechanisms._problem(r["group_model"], r["p_T"], r["eta_l"], r["eta_u"], r["eta_t"], r["nu"])
        g = _mechanisms._exact_gain([q.replace(mu_xi=np.asarray(q.mu_xi) * math.sqrt(f * r["exact"]))
                                     for f in (0.99, 1.01)])  # fmt: skip
        assert g[0] > 0 > g[1]
    ms = [r for r in rows if r["group_model"] == "mean-shift"]
    assert all(r["exact"] is not None for r in ms)  # mean-shift fails at every such mismatch


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seed", "-1"], "--seed: must be an integer in [0, 2^63)"),
        (["--quick", "--doc", "no/such/file.md"], "--doc: the folder 'no/such' of 'no/such/file.md' does not exist"),
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


def test_the_report_goes_where_told_or_to_the_clone_docs(tmp_path, monkeypatch):
    """--doc wins; without it a full run writes docs/claims.md of the current directory only if it is
    there (the project's clone), a quick run nothing."""
    from w2s.commands.claims import report_path

    monkeypatch.chdir(tmp_path)
    assert report_path("r.md", quick=True) == report_path("r.md", quick=False) == Path("r.md")
    assert report_path(None, quick=False) is None and report_path(None, quick=True) is None
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "claims.md").write_text("")
    assert report_path(None, quick=False) == Path("docs/claims.md")
    assert report_path(None, quick=True) is None


@pytest.mark.slow
def test_quick_run_end_to_end(tmp_path):
    """The quick run end to end: every simulated counterexample agrees with the exact theory at the
    larger d_z under the report's rule (the quick run's fixed seed); the JSON has the documented keys."""
    from w2s.claims import report
    from w2s.markers import markers

    result = claims.run_claims("quick", progress=False)
    checked = 0
    for entry in result["claims"].values():
        for by_which in entry["counterexample"].values():
            ce = by_which.get("nearest")
            if ce is None or "simulation" not in ce:  # the quick run simulates the first group model's only
                continue
            assert ce["simulation"][-1]["agrees"], (entry["claim"].title, ce["simulation"])
            checked += 1
    assert checked > 0
    out = report.to_json(result)
    for row in out["claims"].values():
        for stratum in ("paper_regime", "box"):
            assert {"holds", "n", "fraction", "ci95"} <= set(row["strata"][stratum])
    assert set(out["claims"]["a"]["printed_vs_exact"]["by_stratum"]["box"]["mixture"]) == {
        "both", "printed_only", "exact_only", "neither"}  # fmt: skip
    begin, end = markers("claims")
    doc = tmp_path / "claims.md"
    doc.write_text(f"head\n{begin}\n{end}\n")
    report.write_report(result, doc)
    text = doc.read_text()
    assert "### Statements that hold on the paper's regime" in text and (tmp_path / "claims" / "claim_a.png").exists()


def test_step_sensitivity_at_the_default_values_reproduces_the_verdicts(monkeypatch):
    """Moved to their own defaults, the re-evaluated factors and steps give the stored verdicts."""
    from w2s.claims import _definitions, _run

    monkeypatch.setitem(_run.MOVED, "d_below", (_definitions.D_LOW,))
    monkeypatch.setitem(_run.MOVED, "d_above", (_definitions.D_HIGH,))
    monkeypatch.setitem(_run.MOVED, "headline", (_definitions.ETA_STEP,))
    models = ("mixture", "mean-shift")
    result = {"claims": {}}
    cfg = {"shapes": SHAPE, "n": 6, "n_star": 2}
    for key in ("d_below", "d_above", "headline"):
        result["claims"][key] = _run._run_claim(CLAIM[key], cfg, 12, models, None, result["claims"])
    for row in _run.step_sensitivity(result, models):
        entry = result["claims"][row["claim"]]
        for stratum, cases in entry["cases"].items():
            finite = np.array([math.isfinite(float(_definitions._threshold_printed(c.problems[0]))) for c in cases])
            for m in models:
                v = entry["v"][stratum][m]["exact"]
                want = claims.summarise(v, finite if row["claim"] != "headline" else None)
                got = row["cells"][f"{stratum}|{m}"]
                assert (got["holds"], got["n"] - got["errors"]) == (want["holds"], want["n"] - want["errors"])
