"""Tests of the ridge heads on the tweet features, the pool's Gaussian surrogate, and
``w2s deep --heads ridge --theory``.

Everything runs on the small tweet set in a private cache for this module, into which the
suite's content-keyed feature files are copied (extracted when missing).
"""

from __future__ import annotations

import json
import shutil

import jax
import numpy as np
import pytest

import simulate.deep as deep
import w2s.cli
from simulate.deep import _pipeline, _surrogate, _text_features

PAIR = "minilm-static/minilm"


def _clear() -> None:
    _text_features._MEMO.clear()
    _pipeline._standardised_tweet_features.cache_clear()
    _pipeline._probes_cached.cache_clear()
    _surrogate.pool_moments.cache_clear()
    _surrogate.surrogate.cache_clear()
    from w2s import deep_theory

    deep_theory.mixture.cache_clear()


@pytest.fixture(scope="module")
def small_cache(tmp_path_factory):
    """A private W2S_CACHE with the small set's features (copied from the suite's cache, or extracted)."""
    shared = deep.cache_dir()
    names = [_text_features.feature_path(e, "small").name for e in deep.ENCODERS]
    private = tmp_path_factory.mktemp("w2s-ridge-cache")
    for name in names:
        if (shared / name).is_file():
            shutil.copyfile(shared / name, private / name)
    mp = pytest.MonkeyPatch()
    mp.setenv("W2S_CACHE", str(private))
    _clear()
    yield private
    _clear()
    mp.undo()


# ------------------------------------------------------------------------------- ridge heads
@pytest.mark.parametrize("m, d, lam", [(50, 20, 1e-3), (20, 50, 1e-3), (30, 30, 0.5), (50, 20, 0.0), (20, 50, 0.0)])
def test_ridge_matches_a_direct_solve(m, d, lam):
    """Primal and dual forms against the normal equations of (1/m)||t - X theta||^2 + lam ||theta||^2
    (and, at lam = 0, against the min-norm least-squares solution)."""
    rng = np.random.default_rng(0)
    X, t = rng.standard_normal((m, d)), rng.standard_normal(m)
    theta = deep.ridge_fit(X, t, lam)
    if lam > 0:
        direct = np.linalg.solve(X.T @ X / m + lam * np.eye(d), X.T @ t / m)
    else:
        direct = np.linalg.lstsq(X, t, rcond=None)[0]
    np.testing.assert_allclose(theta, direct, rtol=1e-8, atol=1e-10)
    # several targets at once share one factorisation
    T = rng.standard_normal((m, 3))
    np.testing.assert_allclose(deep.Ridge.on(X, lam).fit(T)[:, 1], deep.ridge_fit(X, T[:, 1], lam), rtol=1e-10)


def test_design_appends_a_constant_and_risks_score_signs():
    X = deep.design(np.arange(6.0).reshape(3, 2))
    assert X.shape == (3, 3) and np.all(X[:, -1] == 1.0)
    y, group = np.array([0, 1, 1, 0]), np.array([0, 2, 3, 1])
    mse, acc = deep.group_risks(np.array([-1.0, 0.5, -0.5, 0.2]), y, group)
    np.testing.assert_allclose(mse, [0.0, 1.44, 0.25, 2.25])
    np.testing.assert_array_equal(acc, [1.0, 0.0, 1.0, 0.0])


def test_group_weights_are_what_the_sampler_draws(small_cache):
    cfg = deep.DeepConfig(dataset="tweets", size="small", n=30, eta_l=0.3, N=60, eta_u=0.7, n_val=20)
    unl, _, lab, _ = _pipeline._bench("tweets", "small").draw(jax.random.key(1), cfg)
    for split, m, eta in ((unl, 60, 0.7), (lab, 30 - cfg.n_bal, 0.3)):
        drawn = np.bincount(split.group, minlength=4) / len(split)
        np.testing.assert_array_equal(drawn, deep.group_weights(m, eta))
    np.testing.assert_allclose(deep.test_weights(0.3) @ np.array([1.0, 0.0, 0.0, 1.0]), 0.7)


def test_run_ridge_is_the_direct_solve_on_the_drawn_sets(small_cache):
    cfg = deep.DeepConfig(dataset="tweets", size="small", n=30, eta_l=0.1, N=60, eta_u=0.5, n_val=20)
    key = jax.random.key(2)
    r = deep.run_ridge(cfg, key=key, with_probes=False)
    assert r["heads"] == "ridge" and r["ridge"] == cfg.l2
    bench = _pipeline._bench("tweets", "small")
    fw, fs = (bench.features(b) for b in cfg.backbones)
    unl, _, lab, _ = bench.draw(jax.random.split(key, 6)[0], cfg)
    test = bench.test_split()
    tw = _pipeline._bootstrap_weights(jax.random.split(key, 6)[5], test.group)

    def solve(X, t):  # the normal equations, whatever the shape
        return np.linalg.solve(X.T @ X / len(X) + cfg.l2 * np.eye(X.shape[1]), X.T @ t / len(X))

    th_t = solve(deep.design(fw(lab)), 2.0 * lab.y - 1)
    th_s = solve(deep.design(fs(unl)), deep.design(fw(unl)) @ th_t)
    wt = deep.test_weights(cfg.eta_t)
    for name, th, f in (("teacher", th_t, fw), ("w2s", th_s, fs)):
        mse, acc = deep.group_risks(deep.design(f(test)) @ th, test.y, test.group, tw)
        assert r[name]["mse"] == pytest.approx(float(wt @ mse), rel=1e-7)
        np.testing.assert_allclose(r[name]["group_acc"], acc)
    assert r["gain"]["mse"] == pytest.approx(r["teacher"]["mse"] - r["w2s"]["mse"])


# ------------------------------------------------------------------------ pool statistics
def test_pool_moments_never_touch_the_test_split(small_cache, monkeypatch, tmp_path):
    """Rewriting every test tweet's features changes no pool moment (a fresh cache, so nothing is read back),
    and the moments are the pool's own group means and (ddof 0) covariances."""
    weak, strong = deep.TEXT_PAIRS[PAIR]
    before = deep.pool_moments(weak, strong, "small")
    data = deep.load_tweets("small")
    real = _text_features.tweet_features

    def poisoned(encoder, size="full", **kw):
        f = real(encoder, size, **kw).copy()
        f[data.test] = 1e3 * np.random.default_rng(0).standard_normal((len(data.test), f.shape[1]))
        return f

    monkeypatch.setattr(_text_features, "tweet_features", poisoned)
    monkeypatch.setenv("W2S_CACHE", str(tmp_path))
    for name in deep.ENCODERS:  # the feature files, not the moments
        shutil.copyfile(small_cache / _text_features.feature_path(name, "small").name,
                        tmp_path / _text_features.feature_path(name, "small").name)  # fmt: skip
    _clear()
    try:
        after = deep.pool_moments(weak, strong, "small")
    finally:
        monkeypatch.undo()
        _clear()
    assert list(tmp_path.glob("moments-small-*.npz"))  # estimated afresh from the poisoned features
    np.testing.assert_array_equal(after.mean, before.mean)
    np.testing.assert_array_equal(after.cov, before.cov)
    # the definition, from the pool rows alone
    bench = _pipeline._bench("tweets", "small")
    pool = bench.pool_split()
    x = np.concatenate([np.asarray(bench.features(b)(pool), np.float64) for b in (weak, strong)], axis=1)
    for g in range(4):
        xg = x[pool.group == g]
        np.testing.assert_allclose(before.mean[g], xg.mean(0), atol=1e-12)
        np.testing.assert_allclose(before.cov[g], np.cov(xg.T, ddof=0), atol=1e-10)
    assert before.count.sum() == len(data.pool)


def test_moments_are_cached_beside_the_features(small_cache):
    weak, strong = deep.TEXT_PAIRS[PAIR]
    deep.pool_moments(weak, strong, "small")
    files = list(small_cache.glob(f"moments-small-{weak}-{strong}-*.npz"))
    assert len(files) == 1
    _surrogate.pool_moments.cache_clear()
    again = deep.pool_moments(weak, strong, "small")  # read back from the file
    with np.load(files[0]) as z:
        np.testing.assert_array_equal(again.cov, z["cov"])


def test_surrogate_reproduces_the_moments_and_its_exact_risks(small_cache):
    """Draws from the surrogate against its moments, on projections (pinned key: the test is statistical,
    a fixed draw keeps it from failing at random). 4 groups x 8 directions x (mean, variance) = 64
    z-scores; with a false-failure budget of 1e-3 over them, |z| <= 4.3. Then the exact risks of a
    predictor against a Monte-Carlo estimate from the same draws (risk = mean of squared errors, z <= 4.3)."""
    weak, strong = deep.TEXT_PAIRS[PAIR]
    sur = deep.surrogate(weak, strong, "small")
    m = sur.moments
    k = 4000
    x, group = sur.sample(jax.random.key(7), dict.fromkeys(range(4), k))
    rng = np.random.default_rng(3)  # fixed directions
    U = rng.standard_normal((x.shape[1], 8))
    zs = []
    for g in range(4):
        p = x[group == g] @ U
        mu, var = m.mean[g] @ U, np.einsum("ia,ij,ja->a", U, m.cov[g], U)
        zs += list((p.mean(0) - mu) / np.sqrt(var / k))
        zs += list((p.var(0, ddof=1) - var) / (var * np.sqrt(2.0 / (k - 1))))
    assert np.max(np.abs(zs)) <= 4.3, np.max(np.abs(zs))
    theta = 0.05 * rng.standard_normal(m.d_weak + 1)
    mse, acc = sur.risks(theta, "weak")
    pred = deep.design(x[:, : m.d_weak]) @ theta
    c = _surrogate.LABEL_MEAN[group]
    for g in range(4):
        err = (pred[group == g] - c[group == g]) ** 2
        assert abs(err.mean() - mse[g]) <= 4.3 * err.std(ddof=1) / np.sqrt(k)
        right = (np.sign(pred[group == g]) == c[group == g]).mean()
        assert abs(right - acc[g]) <= 4.3 * np.sqrt(acc[g] * (1 - acc[g]) / k) + 1e-12


def test_mixture_arrays_append_the_constant(small_cache):
    m = deep.pool_moments(*deep.TEXT_PAIRS[PAIR], "small")
    a = m.mixture_arrays()
    assert a["means_weak"].shape == (4, m.d_weak + 1) and np.all(a["means_weak"][:, -1] == 1.0)
    assert np.all(a["cov_weak"][:, -1, :] == 0) and np.all(a["cov_cross"][:, :, -1] == 0)
    np.testing.assert_array_equal(a["label_mean"], [-1, -1, 1, 1])


# ------------------------------------------------------------------------------------- CLI
def test_curve_records_and_z_summaries(small_cache):
    """The curve's pieces without the theory (fast): shapes, s.e. over seeds, the records' keys."""
    from w2s import deep_theory

    c = deep_theory.curve(PAIR, seeds=(0, 1, 2), eta_l=(0.1, 0.5), eta_u=(0.0, 0.5, 1.0), size="small", n=30, N=60,
                          n_val=20, theory=False)  # fmt: skip
    r = deep.ridge_curves(PAIR, source="measured", eta_l=(0.1, 0.5), eta_u=(0.0, 0.5, 1.0), seeds=(0, 1, 2),
                          size="small", n=30, N=60, n_val=20)  # fmt: skip
    np.testing.assert_allclose(c["measured"], r["gain_mse"].mean(-1))
    np.testing.assert_allclose(c["measured_se"], r["gain_mse"].std(-1, ddof=1) / np.sqrt(3))
    recs = deep_theory.records(c)
    assert len(recs) == 6 and set(recs[0]) == {"eta_l", "eta_u", "measured", "surrogate", "predicted"}
    assert np.isnan(recs[0]["predicted"])
    assert deep_theory.z_summary(np.array([1.0, -3.0, np.nan, 2.0])) == {"median": 2.0, "max": 3.0, "count": 3}


def test_cli_ridge_theory_json_has_the_curve(small_cache, capsys):
    argv = ["deep", "--dataset", "tweets", "--size", "small", "--n", "30", "--N", "60", "--n-val", "20"]
    assert w2s.cli.main([*argv, "--heads", "ridge", "--theory", "--curve-seeds", "3", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert {"teacher", "w2s", "ceiling", "probes", "pair", "dataset", "gain", "pgr"} <= set(r)
    assert r["heads"] == "ridge" and r["pair"] == deep.DATASETS["tweets"]["pair"]
    assert len(r["curve"]) == 3 * 11
    assert {(c["eta_l"], c["eta_u"]) for c in r["curve"]} == {
        (a, b) for a in (0.1, 0.3, 0.5) for b in np.round(np.linspace(0, 1, 11), 2).tolist()
    }
    for c in r["curve"]:
        assert {"mean", "se"} <= set(c["measured"]) and {"mean", "se"} <= set(c["surrogate"])
        assert np.isfinite(c["predicted"]) and c["measured"]["se"] > 0 and c["surrogate"]["se"] > 0
    for name in ("z_theory_vs_surrogate", "z_theory_vs_measured"):
        assert {"median", "max"} <= set(r[name]) and 0 <= r[name]["median"] <= r[name]["max"]


def test_cli_ridge_table_runs(small_cache, capsys):
    argv = ["deep", "--dataset", "tweets", "--size", "small", "--n", "30", "--N", "60", "--n-val", "20"]
    assert w2s.cli.main([*argv, "--heads", "ridge", "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "ridge heads" in out and "gain: mse" in out


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--heads", "lasso"], "--heads"),
        (["--theory"], "--theory"),  # the default heads are cross-entropy ones
        (["--heads", "ridge", "--theory", "--curve-seeds", "1"], "--curve-seeds"),
        (["--heads", "ridge", "--labels", "soft"], "--labels"),
        (["--heads", "ridge", "--p", "0.5"], "--p"),
    ],
)
def test_cli_bad_ridge_arguments_give_one_line_and_exit_2(capsys, argv, flag):
    assert w2s.cli.main(["deep", "--dataset", "tweets", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"w2s deep: error: {flag}: ")


def test_cli_theory_needs_tweets(capsys):
    assert w2s.cli.main(["deep", "--dataset", "digits", "--heads", "ridge", "--theory"]) == 2
    assert capsys.readouterr().err.startswith("w2s deep: error: --theory: ")
