"""Cluster labels from words: class-based TF-IDF (c-TF-IDF, as in BERTopic)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["TERM_PATTERN", "top_terms"]

# Words of 2+ characters that contain a letter: "brake", "f150", "4x4", "70r17". Pure numbers
# (years, prices, "265") carry little topic signal and are dropped; so are slashes, which
# split sizes such as "265/70r17" (fine for top terms).
TERM_PATTERN = r"(?u)\b(?=\w*[^\W\d_])\w{2,}\b"


def top_terms(texts_by_cluster: Mapping[int, Sequence[str]], n: int = 8) -> dict[int, list[str]]:
    """The ``n`` most distinctive terms per cluster by class-based TF-IDF (c-TF-IDF, as in BERTopic).

    Each cluster's documents are joined into one class document; a term's weight in class c is
    ``tf(t, c) * log(1 + A / f_t)``, with ``tf`` the term's count in c divided by c's word count,
    ``f_t`` the term's count over all classes and ``A`` the average number of words per class.
    Unlike per-document IDF this rewards terms frequent in one cluster and rare elsewhere, which
    is what a cluster label needs. Ties break alphabetically so reports are reproducible.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    cluster_ids = list(texts_by_cluster)
    result: dict[int, list[str]] = {c: [] for c in cluster_ids}
    if n <= 0 or not cluster_ids:
        return result
    class_docs = [" ".join(t for t in texts_by_cluster[c] if t) for c in cluster_ids]
    vectorizer = CountVectorizer(stop_words="english", token_pattern=TERM_PATTERN, lowercase=True)
    try:
        counts = vectorizer.fit_transform(class_docs)
    except ValueError:  # empty vocabulary: no cluster has a single usable word
        return result
    counts = counts.astype(np.float64).tocsr()
    terms = vectorizer.get_feature_names_out()

    words_per_class = np.asarray(counts.sum(axis=1)).ravel()
    term_totals = np.asarray(counts.sum(axis=0)).ravel()  # f_t, > 0 for every vocabulary term
    avg_words = float(words_per_class.mean())
    idf = np.log1p(avg_words / term_totals)

    for row, c in enumerate(cluster_ids):
        start, end = counts.indptr[row], counts.indptr[row + 1]
        if start == end:
            continue
        cols = counts.indices[start:end]
        scores = counts.data[start:end] / words_per_class[row] * idf[cols]
        # lexsort: last key is primary; -score descending, then the term ascending.
        order = np.lexsort((terms[cols], -scores))[:n]
        result[c] = [str(terms[cols[i]]) for i in order]
    return result
