"""Does a predicted text embedding help posts whose own text says nothing? Measured on held-out posts.

    make demo && .venv/bin/c2c image-to-text --photos first --epochs 3
    python bench/thin_text_bench.py [--home .c2c] [--stub "Make offer"]

Takes the image-to-text test split (posts the checkpoint never trained on, rebuilt from the
checkpoint's seed), throws their text away, and embeds them with the default encoder four ways:
their real text (the reference), a stub text that says nothing, no text at all (photos only), and
the text embedding predicted from their photos (what ``c2c embed`` does for thin-text posts). For
each it prints the share of the 10 nearest other posts (by post vector, every current post of the
home) that are of the same known category (the sample's labels.csv), and the mean cosine to the
post's real-text vector.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", default=None, help="C2C_HOME (default: $C2C_HOME or ./.c2c)")
    parser.add_argument("--encoder", default="default")
    parser.add_argument("--stub", default="Make offer", help="the text a thin post is left with")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()

    from c2c_assets.analysis.pipeline import load_truth
    from c2c_assets.embeddings.store import iter_current_vectors
    from c2c_assets.encoders import PostInput, create_encoder
    from c2c_assets.encoders.base import IMAGE, l2_normalize
    from c2c_assets.home import C2cHome
    from c2c_assets.image_to_text.data import Pair, needs_predicted_text, split_by_post
    from c2c_assets.image_to_text.method import load_checkpoint
    from c2c_assets.image_to_text.pipeline import platform_posts
    from c2c_assets.image_to_text.thin_text import find_predictor

    home = C2cHome.from_env(args.home)
    encoder = create_encoder(args.encoder, home=home.root)
    predictor = find_predictor(home, encoder)
    if predictor is None:
        raise SystemExit(f"no image-to-text checkpoint for {args.encoder}'s text space: run `c2c image-to-text` first")
    seed = load_checkpoint(predictor.checkpoint).config.seed
    labels = load_truth(home, home.inbox)

    # The test split exactly as training made it: it depends only on the eligible posts and the seed.
    posts = {post_id: (text, photos) for post_id, text, photos in platform_posts(home)}
    eligible = [pid for pid, (text, photos) in posts.items() if photos and not needs_predicted_text(text, "", 20)]
    unit = np.ones(1, dtype=np.float32)
    test = sorted({pair.post_id for pair in split_by_post([Pair(pid, "x", unit) for pid in eligible], seed).test})
    test = [pid for pid in test if pid in labels]

    ids, matrix = [], []
    for batch_ids, batch in iter_current_vectors(home, args.encoder):
        ids += batch_ids
        matrix.append(batch)
    vectors = np.concatenate(matrix)
    row_of = {pid: row for row, pid in enumerate(ids)}
    categories = np.array([labels.get(pid, "") for pid in ids])

    started = time.perf_counter()
    stubbed = [PostInput(pid, args.stub, "", tuple(posts[pid][1])) for pid in test]
    silent = [PostInput(pid, "", "", tuple(posts[pid][1])) for pid in test]
    as_stub = encoder.embed_posts(stubbed)
    photos_only = encoder.embed_posts(silent).vectors
    predicted_text = predictor.predict(stubbed)
    predicted = encoder.fuse_parts(as_stub.parts[IMAGE], predicted_text)
    seconds = time.perf_counter() - started
    conditions = {
        "real text (reference)": vectors[[row_of[pid] for pid in test]],
        f"stub text {args.stub!r}": as_stub.vectors,
        "no text (photos only)": photos_only,
        "predicted text": predicted,
    }

    own_rows = np.array([row_of[pid] for pid in test])
    truth = np.array([labels[pid] for pid in test])
    reference = l2_normalize(vectors[own_rows])
    print(f"{len(test)} held-out posts with known categories, {len(ids)} posts to find neighbours among, k={args.k}")
    print(f"(stub, photos-only and predicted embeddings of the {len(test)} posts: {seconds:.1f} s)\n")
    print(f"{'condition':<28} {'same category @' + str(args.k):>18} {'cos to real-text vector':>24}")
    for name, queries in conditions.items():
        queries = l2_normalize(queries)
        scores = queries @ vectors.T
        scores[np.arange(len(test)), own_rows] = -np.inf  # never the post itself
        nearest = np.argpartition(-scores, args.k, axis=1)[:, : args.k]
        same = (categories[nearest] == truth[:, None]).mean()
        cosine = float(np.mean(np.sum(queries * reference, axis=1)))
        print(f"{name:<28} {same:>18.3f} {cosine:>24.4f}")


if __name__ == "__main__":
    main()
