"""Clustering and dimensionality-reduction analysis of post embeddings."""
