r"""A bag-of-words encoder of the tweets: TF-IDF over a fixed vocabulary fitted on the pool only.

The weak teacher of the ``tfidf/minilm`` pair: a linear head on these features is a linear
bag-of-words classifier, a model family that shares nothing with the pre-trained student.

Recipe (:data:`TFIDF`, part of the feature-cache key):

* tokens: scikit-learn's default word pattern (runs of two or more word characters) on the
  lower-cased text, unigrams; the airline handles stay in the text, so ``united`` etc. are
  tokens and the attribute is decodable, as the theory assumes of every backbone;
* vocabulary: the :data:`TFIDF` ``dim`` terms of largest document frequency in the **pool**
  (ties broken by the term's alphabetical order, so the vocabulary is a deterministic
  function of the pool's texts); the test tweets play no part;
* weights: :math:`\mathrm{tf}(t, x)\,\mathrm{idf}(t)` with
  :math:`\mathrm{idf}(t) = 1 + \ln\frac{1 + n}{1 + \mathrm{df}(t)}` over the ``n`` pool
  texts (scikit-learn's smoothed idf), each row then divided by its Euclidean norm (a text
  with no vocabulary term is the zero vector).
"""

from __future__ import annotations

import numpy as np

__all__ = ["TFIDF", "tfidf_features"]

TFIDF = {"dim": 1024, "ngram": 1, "lowercase": True, "token_pattern": r"(?u)\b\w\w+\b", "idf": "smooth", "norm": "l2"}


def tfidf_features(texts: tuple[str, ...] | list[str], fit_index: np.ndarray) -> np.ndarray:
    """``(m, dim)`` float32 TF-IDF features of ``texts``; vocabulary and idf from ``texts[fit_index]``."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    fit = [texts[i] for i in np.asarray(fit_index)]
    if not fit:
        raise ValueError("tfidf: the texts to fit the vocabulary on are empty")
    counts = CountVectorizer(lowercase=True, token_pattern=TFIDF["token_pattern"], binary=True)
    df = np.asarray(counts.fit_transform(fit).sum(axis=0)).ravel()
    terms = counts.get_feature_names_out()
    order = np.lexsort((terms, -df))[: TFIDF["dim"]]  # largest df first, ties alphabetical
    vocab = sorted(terms[order].tolist())
    vec = TfidfVectorizer(
        lowercase=True, token_pattern=TFIDF["token_pattern"], vocabulary=vocab, smooth_idf=True, norm="l2"
    )
    vec.fit(fit)
    out = np.zeros((len(texts), TFIDF["dim"]), np.float32)  # a pool with fewer terms leaves zero columns
    out[:, : len(vocab)] = vec.transform(list(texts)).toarray()
    return out
