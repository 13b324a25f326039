"""Tests of the deep-model path (simulate.deep, ``w2s deep``) on small sizes.

Backbones here are tiny and pre-trained for a few steps into a temporary cache, so the tests
never touch the user's cache and stay fast; the full-size CLI run is marked slow.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import simulate.deep as deep
import w2s.cli

from ._shared_cache import share

TINY = (
    deep.BackboneSpec("test-weak", "mlp", width=8, features=4, task="binary", eta=0.05, steps=30, batch=32),
    deep.BackboneSpec("test-strong", "mlp", width=16, features=8, task="digit", eta=0.5, steps=30, batch=32),
)


# The real backbones this module pre-trains from scratch; the figures build uses the same.
SHARED = ("mlp-tiny", "mlp-wide")


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory):
    """A private W2S_CACHE for this module (not the session: later tests keep the shared cache).

    Afterwards the real backbones pre-trained here (content-keyed files) are copied into the
    suite's cache, where the figures build would otherwise pre-train them again."""
    mp = pytest.MonkeyPatch()
    mp.setenv("W2S_CACHE", str(tmp_path_factory.mktemp("w2s-cache")))
    private = deep.cache_dir()
    yield private
    mp.undo()
    keys = {name: deep.BACKBONES[name].key() for name in SHARED}
    share(
        private,
        [f"{n}-{k}{ext}" for n, k in keys.items() for ext in (".eqx", ".json", ".features.npy")],
        deep.cache_dir(),
    )


# ----------------------------------------------------------------------------------- data
def test_splits_are_disjoint_and_cover_the_digits():
    d = deep.load_coloured_digits()
    parts = [set(d.pretrain), set(d.test), set(d.pool)]
    assert sum(map(len, parts)) == d.pixels.shape[0] == 1797
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    assert (len(d.pretrain), len(d.test), len(d.pool)) == (539, 359, 899)
    assert d.pixels.dtype == np.float32 and 0.0 <= d.pixels.min() and d.pixels.max() <= 1.0


def test_round_half_up_is_not_bankers_rounding():
    assert deep.round_half_up(2.5) == 3 and round(2.5) == 2
    assert deep.round_half_up(0.1 * 50) == 5
    assert deep.round_half_up(0.0) == 0


@pytest.mark.parametrize(
    "n, eta_l, N, eta_u",
    [(100, 0.1, 600, 0.5), (37, 0.5, 201, 0.0), (51, 0.0, 99, 1.0), (10, 0.25, 780, 0.33), (5, 0.5, 5, 0.5)],
)
def test_group_counts_are_exact_and_sets_disjoint(n, eta_l, N, eta_u):
    d = deep.load_coloured_digits()
    lab, unl = d.sample_w2s(jax.random.key(3), n, eta_l, N, eta_u)
    for split, m, eta in ((lab, n, eta_l), (unl, N, eta_u)):
        assert len(split) == m
        assert int(split.minority.sum()) == math.floor(eta * m + 0.5)
        counts = np.bincount(split.group, minlength=4)
        assert dict(enumerate(counts.tolist())) == deep.group_counts(m, eta)
        assert np.array_equal(split.y, d.y[split.index])  # the core label is the digit's
        assert len(set(split.index)) == m  # each image once
        assert set(split.index) <= set(d.pool)
    assert not set(lab.index) & set(unl.index)


def test_pretrain_colouring_keeps_every_image_with_exact_minority():
    d = deep.load_coloured_digits()
    split = d.sample_pretrain(jax.random.key(0), 0.05)
    assert sorted(split.index) == sorted(d.pretrain)
    for y in (0, 1):
        m = int(np.sum(split.y == y))
        assert int(np.sum(split.minority & (split.y == y))) == deep.round_half_up(0.05 * m)


def test_test_split_pairs_each_digit_in_both_colours():
    d = deep.load_coloured_digits()
    t = d.test_split()
    half = len(d.test)
    assert np.array_equal(t.index[:half], t.index[half:])
    assert (t.a[:half] == 0).all() and (t.a[half:] == 1).all()
    counts = np.bincount(t.group, minlength=4)
    assert counts[0] == counts[1] and counts[2] == counts[3] and counts.sum() == 2 * half


def test_render_colours_the_foreground_only():
    d = deep.load_coloured_digits()
    img = deep.render(d.pixels[:3], np.array([0, 1, 0]))
    assert img.shape == (3, 8, 8, 3) and img.dtype == np.float32
    np.testing.assert_allclose(img[1], d.pixels[1][..., None] * deep._data.COLOURS[1])


def test_config_names_the_bad_field():
    with pytest.raises(deep.DeepConfigError, match="^lr: ") as e:
        deep.DeepConfig(dataset="digits", lr=0.0)
    assert e.value.field == "lr"
    with pytest.raises(w2s.ProblemError, match="^N: "):  # a ProblemError, so the CLI reports it in one line
        deep.DeepConfig(dataset="digits", N=10_000)
    with pytest.raises(deep.DeepConfigError, match="^n_val: "):
        deep.DeepConfig(dataset="digits", n=100, N=700, n_val=200)


def test_sizes_beyond_the_pool_are_refused():
    d = deep.load_coloured_digits()
    assert d.check_sizes(100, 0.1, 600, 0.5) is None
    assert d.check_sizes(1000, 0.1, 10, 0.5).startswith("n:")
    assert d.check_sizes(100, 0.1, 850, 0.5).startswith("N:")
    assert d.check_sizes(100, 0.1, 600, 0.5, 300, 0.1).startswith("n_val:")
    with pytest.raises(ValueError, match="^N:"):
        d.sample_w2s(jax.random.key(0), 100, 0.1, 850, 0.5)


# --------------------------------------------------------------------------------- losses
def test_gce_limits_oracle_o6():
    logits = jax.random.normal(jax.random.key(0), (64, 2), dtype=jnp.float32) * 3
    y = jax.random.bernoulli(jax.random.key(1), 0.5, (64,)).astype(jnp.int32)
    p_y = jnp.take_along_axis(jax.nn.softmax(logits, axis=-1), y[:, None], axis=-1)[:, 0]
    # q -> 0: cross-entropy; the error is O(q log^2 p_y), so q = 1e-4 leaves a relative 1e-3.
    np.testing.assert_allclose(deep.gce(logits, y, 1e-4), deep.cross_entropy(logits, y), rtol=2e-3, atol=1e-6)
    np.testing.assert_allclose(deep.gce(logits, y, 1.0), 1.0 - p_y, rtol=1e-5, atol=1e-6)
    mid = deep.gce(logits, y, 0.7)
    np.testing.assert_allclose(mid, (1.0 - p_y**0.7) / 0.7, rtol=1e-4, atol=1e-6)
    assert mid.dtype == jnp.float32


def test_entropy_of_known_distributions():
    logits = jnp.array([[0.0, 0.0], [50.0, 0.0], [0.0, math.log(3.0)]], dtype=jnp.float32)
    h = deep.entropy(logits)
    expected = [math.log(2.0), 0.0, -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))]
    np.testing.assert_allclose(h, expected, atol=1e-6)


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5, 0.999, 1.0])
def test_entropy_selection_keeps_exactly_the_most_confident(p):
    m = 40
    margin = jax.random.permutation(jax.random.key(2), jnp.arange(m, dtype=jnp.float32)) / 4.0
    logits = jnp.stack([margin, -margin], axis=1)  # entropy falls strictly with the margin
    keep = np.asarray(deep.select_confident(deep.entropy(logits), p))
    k = deep.round_half_up(p * m)
    assert keep.sum() == k
    expected = np.asarray(margin) >= np.sort(np.asarray(margin))[m - k]
    assert np.array_equal(keep, expected)


def test_entropy_selection_breaks_ties_by_index_and_keeps_at_least_one():
    scores = jnp.array([1.0, 0.0, 0.0, 0.0, 2.0], dtype=jnp.float32)
    assert np.asarray(deep.select_confident(scores, 0.4)).tolist() == [False, True, True, False, False]
    assert np.asarray(deep.select_confident(scores, 1e-6)).sum() == 1


def test_head_training_fits_a_separable_problem_and_masks_work():
    f = jax.random.normal(jax.random.key(0), (200, 3), dtype=jnp.float32)
    y = (f[:, 0] > 0).astype(jnp.int32)
    head = deep.train_head(f, y, key=jax.random.key(1), steps=200)
    pred = np.asarray(jnp.argmax(deep.predict_logits(head, f), -1))
    assert np.mean(pred == np.asarray(y)) > 0.9  # not 1: the L2 penalty leaves a soft margin
    assert head.linear.weight.dtype == jnp.float32  # float32 although the tests run with x64 on
    # zero-weight rows are ignored: flipping their labels changes nothing
    mask = (jnp.arange(200) < 100).astype(jnp.float32)
    a = deep.train_head(f, y, key=jax.random.key(1), weights=mask, loss="gce", steps=50)
    b = deep.train_head(f, jnp.where(mask > 0, y, 1 - y), key=jax.random.key(1), weights=mask, loss="gce", steps=50)
    assert eqx.tree_equal(a, b)


# ------------------------------------------------------------------------------ backbones
def _leaves(tree):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_array))]


def test_backbone_is_cached_on_disk_with_a_key(tiny_cache):
    spec = TINY[0]
    a = deep.load_backbone(spec)
    files = sorted(p.name for p in tiny_cache.glob(f"{spec.name}-*"))
    assert f"{spec.name}-{spec.key()}.eqx" in files and f"{spec.name}-{spec.key()}.json" in files
    assert spec.key() != spec.__class__(**{**spec.__dict__, "seed": 1}).key()
    assert spec.key() != spec.__class__(**{**spec.__dict__, "eta": 0.5}).key()
    # a fresh read from disk gives the same bits
    b = deep._backbones._load(spec, tiny_cache / f"{spec.name}-{spec.key()}.eqx", False)
    assert all(np.array_equal(x, y) for x, y in zip(_leaves(a), _leaves(b), strict=True))


def test_frozen_backbone_gets_no_gradient_and_stays_bitwise_unchanged(tiny_cache):
    weak, strong = TINY
    backbone = deep.load_backbone(strong)
    before = _leaves(backbone)
    file = tiny_cache / f"{strong.name}-{strong.key()}.eqx"
    file_bytes = file.read_bytes()
    d = deep.load_coloured_digits()
    lab, _ = d.sample_w2s(jax.random.key(0), 64, 0.5, 10, 0.5)
    x = jnp.asarray(d.images(lab))
    head = deep.LinearHead(strong.features, key=jax.random.key(1))

    def loss(backbone, head):
        return jnp.mean(deep.cross_entropy(deep.predict_logits(head, deep.embed(backbone, x)), jnp.asarray(lab.y)))

    # jitted: op-by-op differentiation would compile every small op separately
    grad_backbone = eqx.filter_jit(eqx.filter_grad(loss))
    grad_head = eqx.filter_jit(eqx.filter_grad(lambda h, b: loss(b, h)))
    g_backbone, g_head = grad_backbone(backbone, head), grad_head(head, backbone)
    assert all(np.all(np.asarray(g) == 0) for g in jax.tree_util.tree_leaves(g_backbone))
    assert any(np.any(np.asarray(g) != 0) for g in jax.tree_util.tree_leaves(g_head))
    # the whole pipeline (teacher, students, ceiling heads) leaves the backbones untouched
    deep.run_w2s(deep.DeepConfig(dataset="digits", n=40, N=80, n_val=20, steps=20), key=jax.random.key(0), specs=TINY)
    after = _leaves(deep.load_backbone(strong))
    assert all(np.array_equal(x, y) for x, y in zip(before, after, strict=True))
    assert file.read_bytes() == file_bytes


# ------------------------------------------------------------------------------- pipeline
def test_pipeline_reports_everything_and_seeds_reproduce(tiny_cache):
    cfg = deep.DeepConfig(dataset="digits", n=60, eta_l=0.1, N=120, eta_u=0.5, n_val=30, p=0.5, q=0.7, steps=40)
    r1 = deep.run_w2s(cfg, key=jax.random.key(7), specs=TINY)
    r2 = deep.run_w2s(cfg, key=jax.random.key(7), specs=TINY)
    r3 = deep.run_w2s(cfg, key=jax.random.key(8), specs=TINY)
    assert r1 == r2
    assert r1 != r3
    for m in deep.MODELS:
        g = np.array(r1[m]["group_acc"])
        assert g.shape == (4,) and ((0 <= g) & (g <= 1)).all()
        assert r1[m]["worst_group"] == g.min()
        assert r1[m]["average"] == pytest.approx(float(deep.average_accuracy(g, 0.5)))
    assert r1["gain"]["average"] == pytest.approx(r1["w2s"]["average"] - r1["teacher"]["average"])
    t, s, c = (r1[m]["worst_group"] for m in ("teacher", "w2s", "ceiling"))
    pgr = r1["pgr"]["worst_group"]
    assert pgr == pytest.approx((s - t) / (c - t)) if c != t else math.isnan(pgr)
    assert (r1["enhanced"]["p"], r1["enhanced"]["q"]) == (0.5, 0.7)  # given, not chosen
    assert r1["pseudolabels"]["kept"] == 60


def test_average_accuracy_interpolates_majority_and_minority():
    g = np.array([1.0, 0.5, 0.25, 0.75])  # groups (y,a) = 00 01 10 11: majority 00, 11
    assert deep.average_accuracy(g, 0.0) == pytest.approx(0.875)
    assert deep.average_accuracy(g, 1.0) == pytest.approx(0.375)
    assert deep.average_accuracy(g, 0.5) == pytest.approx(0.625)


# ------------------------------------------------------------------------------------ CLI
@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--eta-l", "1.5"], "--eta-l"),
        (["--eta-u", "-0.1"], "--eta-u"),
        (["--eta-t", "2"], "--eta-t"),
        (["--p", "0"], "--p"),
        (["--p", "1.01"], "--p"),
        (["--q", "-0.1"], "--q"),  # q = 0 is the cross-entropy, allowed
        (["--q", "1.5"], "--q"),
        (["--n", "2000"], "--n"),
        (["--n", "0"], "--n"),
        (["--N", "850"], "--N"),
        (["--n-val", "300"], "--n-val"),
        (["--pair", "tiny/huge"], "--pair"),
        (["--eta-l", "nan"], "--eta-l"),
    ],
)
def test_cli_bad_arguments_give_one_line_and_exit_2(capsys, argv, flag):
    assert w2s.cli.main(["deep", "--dataset", "digits", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"w2s deep: error: {flag}: ")


@pytest.mark.slow
def test_cli_runs_one_configuration(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("W2S_CACHE", str(tmp_path))  # pre-trains the real backbones from scratch
    import json

    argv = ["deep", "--dataset", "digits", "--pair", "mlp-tiny/mlp-wide", "--n", "100", "--N", "400", "--json"]
    assert w2s.cli.main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["ceiling"]["average"] > r["teacher"]["average"]  # the strong backbone is stronger
    assert set(r) >= {"teacher", "w2s", "enhanced", "ceiling", "gain", "pgr", "relative_improvement"}


@pytest.mark.parametrize("name", ["mlp-tiny", "mlp-wide"])
def test_digit_backbones_decode_the_colour(tiny_cache, name):
    """The premise of the theory: both the weak and the strong backbone encode the attribute."""
    pr = deep.probes("digits", name)
    assert pr["attribute"] > 0.9, pr
    assert pr["label"] > 0.7, pr


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cnn-tiny", "cnn-large"])
def test_cnn_backbones_decode_the_colour(tiny_cache, name):
    pr = deep.probes("digits", name)
    assert pr["attribute"] > 0.9, pr


def test_group_counts_split_each_part_as_the_docstring_says():
    # odd majority part: class 1 (g = 3) gets the extra; odd minority part: class 0 (g = 1) does
    assert deep.group_counts(10, 0.3) == {0: 3, 3: 4, 2: 1, 1: 2}
    assert deep.group_counts(4, 0.5) == {0: 1, 3: 1, 2: 1, 1: 1}
