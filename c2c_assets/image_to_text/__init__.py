"""Image-to-text embedding prediction (arXiv 2401.06167): a post's text embedding from its photos.

An ensemble of Model A, an image tower fine-tuned at a small learning rate under a fresh
``FC1 -> Norm1 -> GELU -> FC2 -> Norm2`` head at a larger one (loss ``1 - cos``), and Model B, the
similarity-weighted text of the nearest training posts by the frozen tower's image embedding (FAISS).
Used for posts whose text is missing or too short (``needs_predicted_text``).

Configurations (``backbones.CONFIGURATIONS``): ``paper`` (CLIP vision tower -> CLIP text embeddings) and
``offline`` (EfficientNet-Lite0 -> the default's text side, multilingual-e5-small), each with a tiny random variant for tests.
Entry points are in ``method``: ``run``, ``fit``, ``evaluate``, ``predict_text_embeddings``,
``save_checkpoint``/``load_checkpoint``. Plain Python, no Dagster; torch loads on first use.
"""
