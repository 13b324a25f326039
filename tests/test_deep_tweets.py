"""Tests of the real-data deep path: the tweet corpus, the attribute rule, the MiniLM forward, the
feature cache, the probes and ``w2s deep --dataset tweets``.

Everything runs on the small tweet set (:data:`simulate.deep.TWEET_SIZES` ``"small"``, 320
tweets) with features extracted once into a private cache for this module.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import jax
import numpy as np
import pytest

import simulate.deep as deep
import w2s.cli
from simulate.deep import _text_features, _tweets

from ._shared_cache import share


@pytest.fixture(scope="module")
def text_cache(tmp_path_factory):
    """A private W2S_CACHE holding the small tweet set's features (extracted once, from scratch).

    Afterwards the feature files (content-keyed) are copied into the suite's cache, where the
    figures build would otherwise extract them again."""
    mp = pytest.MonkeyPatch()
    mp.setenv("W2S_CACHE", str(tmp_path_factory.mktemp("w2s-text-cache")))
    _text_features._MEMO.clear()
    deep._pipeline._standardised_tweet_features.cache_clear()
    deep._pipeline._probes_cached.cache_clear()
    for name in deep.ENCODERS:
        deep.tweet_features(name, "small")
    private = deep.cache_dir()
    names = [_text_features.feature_path(name, "small").name for name in deep.ENCODERS]
    yield private
    _text_features._MEMO.clear()
    deep._pipeline._standardised_tweet_features.cache_clear()
    deep._pipeline._probes_cached.cache_clear()
    mp.undo()
    share(private, names, deep.cache_dir())


# --------------------------------------------------------------------------- data, attribute
@pytest.mark.parametrize(
    "text, expected",
    [
        ("@united thanks for the upgrade", True),
        ("So angry at @AmericanAir right now", True),
        ("@SouthwestAir!", True),
        ("@JetBlue's crew rocks", True),  # an apostrophe ends the handle
        ("love @virginamerica", True),
        ("@USAirways_ fix it", False),  # a different handle
        ("@unitedway donates", False),  # a longer handle that starts like an airline's
        ("united airlines lost my bag", False),  # no @: not addressed to the handle
        ("@delta is great", False),  # not one of the six
        ("", False),
    ],
)
def test_attribute_rule(text, expected):
    assert deep.is_airline(text) is expected


def _file_rows() -> list[tuple[str, str, str]]:
    """``(sentiment, confidence, text)`` of every row, decoded per row independently of the module:
    UTF-8 where the row's bytes are valid UTF-8, else Latin-1."""
    raw = _tweets._read_checked(_tweets.csv_path(), _tweets.CSV_SHA256)
    out = []
    for r in csv.DictReader(io.StringIO(raw.decode("latin-1"), newline="")):
        b = r["text"].encode("latin-1")
        try:
            text = b.decode("utf-8")
        except UnicodeDecodeError:
            text = r["text"]
        out.append((r["sentiment"], r["confidence"], text.strip()))
    return out


def test_corpus_counts_match_the_published_counts():
    """Before de-duplication, the handle rule gives the counts published for this corpus."""
    rows = _file_rows()
    assert len(rows) == 38158
    counts = {}
    for sent, _, text in rows:
        k = (sent, deep.is_airline(text))
        counts[k] = counts.get(k, 0) + 1
    assert counts[("negative", True)] == 9176 and counts[("positive", True)] == 2363
    assert counts[("neutral", True)] == 3099
    assert counts[("negative", False)] == 7010 and counts[("positive", False)] == 4591
    assert deep.raw_counts() == counts


def test_hygiene_rules_hold_on_the_kept_corpus():
    """No normalised text twice; neutral and both-label texts gone; labels, attributes and counts as the file says."""
    rows = [r for r in _file_rows() if r[0] != "neutral"]
    labels: dict[str, set[str]] = {}
    by_text: dict[str, str] = {}
    for sent, _, text in rows:
        labels.setdefault(_tweets.normalise(text), set()).add(sent)
        by_text.setdefault(text, sent)  # first occurrence
    texts, y, a = deep.read_corpus()
    keys = [_tweets.normalise(t) for t in texts]
    assert len(set(keys)) == len(keys) and all(keys)
    assert all(len(labels[k]) == 1 for k in keys)  # a text with both labels is dropped
    assert all((by_text[t] == "negative") == bool(yi) for t, yi in zip(texts, y, strict=True))
    assert all(bool(ai) == deep.is_airline(t) for t, ai in zip(texts, a, strict=True))
    # every removed row is a repeat of a kept text's normalised form, or of a both-label text
    kept = set(keys)
    ambiguous = {k for k, v in labels.items() if len(v) > 1}
    assert kept | ambiguous == set(labels) and not kept & ambiguous
    h = deep.hygiene_counts()
    removed = h["removed"]
    assert h["kept"] == len(texts)
    assert len(rows) == len(texts) + sum(v for k, v in removed.items() if k != "both labels: texts")
    assert removed["both labels: texts"] == len(ambiguous) > 0
    assert removed["near duplicates"] > 0  # the rule does more than exact matching on this file
    assert sum(h["decoding"].values()) == 38158
    assert sum(v["kept"] for v in h["groups"].values()) == len(texts)


@pytest.mark.parametrize(
    "text, key",
    [
        ("RT @united: Thanks for the upgrade!! http://t.co/xyz", "thanks for the upgrade"),
        ("rt @a: RT @b_2: Hello,   World", "hello world"),
        ("@JetBlue's crew ROCKS www.jetblue.com", "jetblue s crew rocks"),
        ("I love RT @x: this", "i love rt x this"),  # only a leading prefix is removed
        ("https://t.co/a", ""),
    ],
)
def test_normalise(text, key):
    assert deep.normalise(text) == key


def test_rows_are_decoded_one_by_one():
    """UTF-8 rows are read as UTF-8 (no mojibake), rows that are not UTF-8 fall back to Latin-1."""
    h = deep.hygiene_counts()["decoding"]
    texts, _, _ = deep.read_corpus()
    utf8 = [t for t in texts if not t.isascii() and "Σ" in t]
    assert utf8 and all("Î£" not in t for t in utf8)  # Σ, not its Latin-1 reading
    assert h["utf-8"] > 0 and h["latin-1"] > 0 and h["ascii"] + h["utf-8"] + h["latin-1"] == 38158


def test_confidence_is_kept_per_tweet():
    d = deep.load_tweets("small")
    c = d.confidence
    assert c.shape == d.y.shape and np.all((c[~np.isnan(c)] >= 0) & (c[~np.isnan(c)] <= 1))
    assert not np.isnan(c[d.a == 1]).any()  # the airline corpus has a confidence for every tweet


def test_docs_data_block_is_current():
    """docs/deep.md's hygiene block is :func:`simulate.deep.hygiene_table` (``W2S_WRITE_DOCS=1`` rewrites it)."""
    from w2s.markers import check_markers, markers, write_between

    doc = Path(__file__).resolve().parents[1] / "docs" / "deep.md"
    body = deep.hygiene_table("full")
    if os.environ.get("W2S_WRITE_DOCS") == "1":
        write_between(doc, "tweets-data", body)
    text = check_markers(doc, "tweets-data")
    begin, end = markers("tweets-data")
    assert text[text.index(begin) + len(begin) : text.index(end)].strip("\n") == body


def test_a_different_file_is_refused(tmp_path):
    f = tmp_path / "corpus.csv"
    f.write_bytes(b"sentiment,confidence,text\n")
    with pytest.raises(ValueError, match="sha256"):
        _tweets._read_checked(f, _tweets.CSV_SHA256)


@pytest.mark.parametrize("size", ["small", "full"])
def test_splits_are_disjoint_and_the_test_set_balanced(size):
    d = deep.load_tweets(size)
    per_group, per_test = deep.TWEET_SIZES[size]
    assert len(d.texts) == 4 * per_group and len(set(d.texts)) == len(d.texts)
    keys = [deep.normalise(t) for t in d.texts]
    assert len(set(keys)) == len(keys)  # no near-duplicate anywhere among the used tweets
    assert not {keys[i] for i in d.test} & {keys[i] for i in d.pool}  # so none across the splits
    assert not set(d.test) & set(d.pool) and len(d.test) + len(d.pool) == len(d.texts)
    assert np.bincount(d.group[d.test], minlength=4).tolist() == [per_test] * 4
    assert np.bincount(d.group[d.pool], minlength=4).tolist() == [per_group - per_test] * 4
    texts, y, a = _tweets.read_corpus()
    assert np.array_equal(d.y, y[d.source_index]) and np.array_equal(d.a, a[d.source_index])


@pytest.mark.parametrize("n, eta_l, N, eta_u, n_val", [(30, 0.1, 80, 0.5, 30), (30, 0.5, 90, 1.0, 10)])
def test_group_counts_are_exact_and_sets_disjoint(n, eta_l, N, eta_u, n_val):
    d = deep.load_tweets("small")
    lab, unl, val = d.sample(jax.random.key(1), [(n, eta_l), (N, eta_u), (n_val, eta_l)])
    for split, m, eta in ((lab, n, eta_l), (unl, N, eta_u), (val, n_val, eta_l)):
        assert dict(enumerate(np.bincount(split.group, minlength=4).tolist())) == deep.group_counts(m, eta)
        assert set(split.index) <= set(d.pool)
    assert not set(lab.index) & set(unl.index) and not set(lab.index) & set(val.index)
    assert not set(unl.index) & set(val.index)
    # the majority groups are (negative, airline) and (positive, other)
    assert all(bool(m) == (yy != aa) for m, yy, aa in zip(unl.minority, unl.y, unl.a, strict=True))


def test_sizes_beyond_the_pool_are_refused():
    d = deep.load_tweets("small")
    assert d.check_sizes(30, 0.1, 80, 0.5, 30, 0.1) is None
    assert d.check_sizes(40, 0.1, 200, 1.0, 40, 0.1).startswith("N:")
    with pytest.raises(deep.DeepConfigError, match="^n_val: "):
        deep.DeepConfig(dataset="tweets", size="small", n=30, N=60, n_val=200)


# ----------------------------------------------------------------------------- the encoder
# The encoders' own tests (reference forward, ONNX exports, tokenizer, bag of words): test_deep_encoders.py.


# ------------------------------------------------------------------------------ the cache
def test_features_are_cached_content_keyed(text_cache, monkeypatch):
    path = _text_features.feature_path("minilm", "small")
    assert path.exists() and path.parent == text_cache
    f = deep.tweet_features("minilm", "small")
    assert f.shape == (4 * deep.TWEET_SIZES["small"][0], 384) and f.dtype == np.float32
    np.testing.assert_array_equal(np.load(path), f)
    keys = {_text_features.feature_path(n, "small").name for n in deep.ENCODERS}
    assert len(keys) == len(deep.ENCODERS)  # one file per encoder
    monkeypatch.setitem(_tweets.PREPROCESS, "handles", "removed")  # preprocessing is part of the key
    assert _text_features.feature_path("minilm", "small") != path
    monkeypatch.undo()
    monkeypatch.setattr(_text_features, "weights_sha256", lambda network: "0" * 64)  # and the weights
    assert _text_features.feature_path("minilm", "small") != path
    tfidf = _text_features.feature_path("tfidf", "small")
    monkeypatch.setitem(_text_features.TFIDF, "dim", 7)  # and the bag-of-words recipe
    assert _text_features.feature_path("tfidf", "small") != tfidf


def test_every_backbone_decodes_the_attribute_and_the_strong_one_the_label(text_cache):
    pr = {b: deep.probes("tweets", b, size="small") for b in deep.ENCODERS}
    for b, p in pr.items():
        assert p["attribute"] > 0.9, (b, p)  # the handle is in the text: every backbone sees the topic
    assert pr["minilm"]["label"] > 0.65, pr  # sentiment is decodable from the strong encoder


# -------------------------------------------------------------------------------- pipeline
def test_pipeline_on_tweets_reports_everything_and_seeds_reproduce(text_cache):
    cfg = deep.DeepConfig(dataset="tweets", size="small", n=30, eta_l=0.1, N=80, eta_u=0.5, n_val=30, steps=50)
    r1 = deep.run_w2s(cfg, key=jax.random.key(3))
    r2 = deep.run_w2s(cfg, key=jax.random.key(3))
    assert r1 == r2
    assert r1["pair"] == "minilm-static/minilm" and r1["dataset"] == "tweets"
    for m in deep.MODELS:
        g = np.array(r1[m]["group_acc"])
        assert r1[m]["worst_group"] == g.min()
        assert r1[m]["average"] == pytest.approx(float(deep.average_accuracy(g, 0.5)))
    e = r1["enhanced"]
    assert (e["p"], e["q"]) in [(p, q) for p in deep.P_GRID for q in deep.Q_GRID]
    assert e["validation"][f"p={e['p']:g},q={e['q']:g}"] == max(e["validation"].values())
    assert r1["pseudolabels"]["kept"] == deep.round_half_up(e["p"] * 80)
    assert set(r1["probes"]) == {"minilm-static", "minilm"}


# ------------------------------------------------------------------------------------- CLI
def test_cli_tweets_json_has_the_documented_keys(text_cache, capsys):
    argv = ["deep", "--dataset", "tweets", "--size", "small", "--n", "30", "--N", "80", "--n-val", "30"]
    assert w2s.cli.main([*argv, "--steps", "40", "--eta-u", "0.5", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert {"teacher", "w2s", "enhanced", "ceiling", "probes", "pair", "dataset"} <= set(r)
    for m in ("teacher", "w2s", "enhanced", "ceiling"):
        assert {"average", "worst_group"} <= set(r[m])
    for b in ("minilm-static", "minilm"):
        assert set(r["probes"][b]) == {"label", "attribute"}


def test_pair_registry():
    """Each tweets pair is a (weak, strong) tuple of known encoders with a description; at least two teachers
    are not views of the student's network (all-MiniLM-L6-v2)."""
    for name, pair in deep.TEXT_PAIRS.items():
        weak, strong = pair
        assert pair == (weak, strong) and name == f"{weak}/{strong}" and {weak, strong} <= set(deep.ENCODERS)
        assert pair.description and "\n" not in pair.description
    student_net = deep.MINILM_VIEWS["minilm"][0]
    outside = [p for p, (w, _) in deep.TEXT_PAIRS.items() if deep.MINILM_VIEWS.get(w, ("",))[0] != student_net]
    assert set(outside) >= {"tfidf/minilm", "minilm-l3/minilm"}
    import pickle

    pair = deep.TEXT_PAIRS["tfidf/minilm"]
    assert pickle.loads(pickle.dumps(pair)).description == pair.description


def test_cli_lists_the_pairs(capsys):
    assert w2s.cli.main(["deep", "--list-pairs"]) == 0
    out = capsys.readouterr().out
    for info in deep.DATASETS.values():
        for pair in info["pairs"]:
            assert pair in out
    assert out.count("(default)") == len(deep.DATASETS)


def test_cli_defaults_are_the_config_defaults():
    from w2s.commands.deep import DEFAULTS

    for name, value in DEFAULTS.items():
        assert getattr(deep.DeepConfig, name) == value, name


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--dataset", "imagenet"], "--dataset"),
        (["--pair", "mlp-tiny/mlp-wide"], "--pair"),  # a digits pair on tweets
        (["--eta-u", "1.5"], "--eta-u"),
        (["--eta-l", "-0.2"], "--eta-l"),
        (["--N", "100000"], "--N"),
        (["--n", "5000"], "--n"),
        (["--n-val", "0"], "--n-val"),
        (["--size", "medium"], "--size"),
    ],
)
def test_cli_bad_arguments_give_one_line_and_exit_2(capsys, argv, flag):
    assert w2s.cli.main(["deep", "--dataset", "tweets", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"w2s deep: error: {flag}: ")
