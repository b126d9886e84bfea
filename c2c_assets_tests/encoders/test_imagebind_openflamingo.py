"""The ``imagebind`` and ``openflamingo`` encoder families, on tiny random configs (CPU, no weights, no network),
and the multi-image experiment behind docs/openflamingo-strategies.md."""

from __future__ import annotations

import os
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from c2c_assets.encoders import EncoderConfig, EncoderError, RuntimeSettings, create_encoder
from c2c_assets.encoders.base import Encoder, PostInput, WeightsNotFound, l2_normalize

# Before transformers/open_clip import huggingface_hub, which reads these once.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
CPU = RuntimeSettings(device="cpu", batch_size=4)
GATE = 1.0  # untrained gates are 0 and would hide the photos entirely


def encoder(family: str, runtime: RuntimeSettings = CPU, **options: Any) -> Encoder:
    return create_encoder(EncoderConfig(f"{family}-test", family, {"tiny": True, **options}), runtime)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(l2_normalize(a) @ l2_normalize(b))


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Six distinct noise photos of different sizes (resize and crop both happen)."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("photos")
    paths = []
    for index in range(6):
        rng = np.random.default_rng(index)
        pixels = rng.integers(0, 256, (180 + 20 * index, 260, 3), dtype=np.uint8)
        paths.append(folder / f"photo{index}.png")
        Image.fromarray(pixels).save(paths[-1])
    return paths


def write_wav(path: Path, frequency: float, rate: int, channels: int, seconds: float = 1.5) -> Path:
    t = np.arange(int(rate * seconds)) / rate
    mono = (0.5 * np.sin(2 * np.pi * frequency * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(np.repeat(mono[:, None], channels, axis=1).tobytes())
    return path


@pytest.fixture(scope="module")
def imagebind() -> Encoder:
    return encoder("imagebind")


@pytest.fixture(scope="module")
def flamingo() -> Encoder:
    return encoder("openflamingo", gate_init=GATE)


# ---------------------------------------------------------------- imagebind


def test_imagebind_posts_are_unit_vectors_and_deterministic(imagebind: Encoder, photos: list[Path]) -> None:
    posts = [
        PostInput("both", "Alloy wheel", "17 inch, no curb rash", tuple(photos[:3])),
        PostInput("text", "Brake pads", "", ()),
        PostInput("photos", "", "", tuple(photos[3:4])),
        PostInput("empty", "", "", ()),
    ]
    result = imagebind.embed_posts(posts)
    assert result.vectors.shape == (4, 32) and result.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(result.vectors[:3], axis=1), 1.0, atol=1e-5)
    assert np.isnan(result.vectors[3]).all()
    assert np.isnan(result.parts["image"][1]).all() and np.isnan(result.parts["text"][2]).all()
    again = encoder("imagebind", RuntimeSettings(device="cpu", batch_size=1)).embed_posts(posts)
    np.testing.assert_allclose(again.vectors[:3], result.vectors[:3], atol=1e-5)
    other_seed = encoder("imagebind", seed=1).embed_posts(posts[:1]).vectors[0]
    assert cosine(other_seed, result.vectors[0]) < 0.999


def test_imagebind_image_weight(photos: list[Path]) -> None:
    post = PostInput("p", "Headlight", "left side, clear lens", tuple(photos[:3]))
    only_photos = encoder("imagebind", image_weight=1.0)
    only_text = encoder("imagebind", image_weight=0.0)
    photo_mean = l2_normalize(only_photos.embed_images(post.image_paths).mean(axis=0))
    np.testing.assert_allclose(only_photos.embed_posts([post]).vectors[0], photo_mean, atol=1e-5)
    text_vector = only_text.embed_texts([post.text])[0]
    np.testing.assert_allclose(only_text.embed_posts([post]).vectors[0], text_vector, atol=1e-5)
    half = encoder("imagebind").embed_posts([post]).vectors[0]
    np.testing.assert_allclose(half, l2_normalize(photo_mean + text_vector), atol=1e-5)


def test_imagebind_audio(imagebind: Encoder, tmp_path: Path) -> None:
    from c2c_assets.encoders.imagebind import audio_clips, read_wav

    stereo = write_wav(tmp_path / "a440_44k_stereo.wav", 440, 44_100, 2)
    mono = write_wav(tmp_path / "a440_16k_mono.wav", 440, 16_000, 1)
    other = write_wav(tmp_path / "3k_16k_mono.wav", 3_000, 16_000, 1)
    assert tuple(audio_clips(*read_wav(stereo)).shape) == (3, 1, 128, 204)
    vectors = imagebind.embed_audio([stereo, mono, other])
    assert vectors.shape == (3, imagebind.width) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    same_sound, different_sound = cosine(vectors[0], vectors[1]), cosine(vectors[1], vectors[2])
    assert not np.allclose(vectors[1], vectors[2], atol=1e-4)
    assert same_sound > different_sound, (same_sound, different_sound)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_read_wav_sample_widths(tmp_path: Path, width: int) -> None:
    from c2c_assets.encoders.imagebind import read_wav

    signal = 0.5 * np.sin(2 * np.pi * 440 * np.arange(800) / 8_000)
    scale = 1 << (8 * width - 1)
    ints = np.round(signal * scale).astype(np.int64) + (128 if width == 1 else 0)  # 8-bit WAV is unsigned
    raw = b"".join(int(value).to_bytes(width, "little", signed=width > 1) for value in ints)
    with wave.open(str(tmp_path / "x.wav"), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(width)
        handle.setframerate(8_000)
        handle.writeframes(raw)
    samples, rate = read_wav(tmp_path / "x.wav")
    assert rate == 8_000 and samples.shape == (1, 800)
    np.testing.assert_allclose(samples[0], signal, atol=1.5 / scale)


def test_kaldi_fbank_fallback_matches_torchaudio() -> None:
    torch = pytest.importorskip("torch")
    kaldi = pytest.importorskip("torchaudio.compliance.kaldi")
    from c2c_assets.encoders.imagebind import kaldi_fbank

    waveform = torch.randn(1, 32_000, generator=torch.Generator().manual_seed(0))
    expected = kaldi.fbank(
        waveform, htk_compat=True, sample_frequency=16_000, use_energy=False, window_type="hanning",
        num_mel_bins=128, dither=0.0, frame_length=25, frame_shift=10,
    )
    np.testing.assert_allclose(kaldi_fbank(waveform).numpy(), expected.numpy(), atol=1e-3)


def test_imagebind_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, imagebind: Encoder) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("C2C_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsNotFound, match="imagebind_huge.pth") as missing:
        create_encoder("imagebind", CPU)
    assert missing.value.path == tmp_path / "imagebind_huge.pth"
    assert "Meta" in str(missing.value)
    # The loading path, exercised with a tiny checkpoint: a different seed, yet the saved weights win.
    checkpoint = tmp_path / "tiny.pth"
    torch.save(imagebind._loaded[0].state_dict(), checkpoint)  # type: ignore[attr-defined]
    loaded = encoder("imagebind", weights=str(checkpoint), seed=5)
    texts = ["exhaust manifold", "catalytic converter"]
    np.testing.assert_allclose(loaded.embed_texts(texts), imagebind.embed_texts(texts), atol=1e-6)
    assert loaded.fingerprint() != imagebind.fingerprint()


# ---------------------------------------------------------------- openflamingo


def test_flamingo_posts_are_unit_vectors_and_deterministic(flamingo: Encoder, photos: list[Path]) -> None:
    posts = [
        PostInput("three", "Alloy wheel", "17 inch", tuple(photos[:3])),
        PostInput("text", "Brake pads", "ceramic", ()),
        PostInput("one", "Mirror", "", tuple(photos[3:4])),
        PostInput("empty", "", "", ()),
        PostInput("two", "Bumper", "front, black", tuple(photos[4:6])),
    ]
    vectors = flamingo.embed_posts(posts).vectors
    assert vectors.shape == (5, 32) and vectors.dtype == np.float32 and flamingo.width == 32
    rows = [0, 1, 2, 4]
    np.testing.assert_allclose(np.linalg.norm(vectors[rows], axis=1), 1.0, atol=1e-5)
    assert np.isnan(vectors[3]).all()
    # A fresh model with the same seed, one post per forward: the same vectors (right padding, per-count batches).
    one_by_one = RuntimeSettings(device="cpu", batch_size=1)
    again = encoder("openflamingo", one_by_one, gate_init=GATE).embed_posts(posts).vectors
    np.testing.assert_allclose(again[rows], vectors[rows], atol=1e-5)
    texts = flamingo.embed_texts(["brake pads", "wheel"])
    assert texts.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)


def test_flamingo_prefix(photos: list[Path]) -> None:
    post = PostInput("p", "Tail light", "driver side", tuple(photos[:2]))
    with_prefix = encoder("openflamingo", gate_init=GATE).embed_posts([post]).vectors[0]
    without = encoder("openflamingo", gate_init=GATE, prefix=False)
    assert cosine(with_prefix, without.embed_posts([post]).vectors[0]) < 0.9999
    other_text = encoder("openflamingo", gate_init=GATE, prefix_text="Listing").embed_posts([post]).vectors[0]
    assert cosine(with_prefix, other_text) < 0.9999
    # Without the prefix a text-only post is exactly its text: the zero-media conditioning adds nothing.
    text_post = PostInput("t", "Radiator", "aluminium, no leaks", ())
    as_text = without.embed_texts([text_post.text])[0]
    np.testing.assert_allclose(without.embed_posts([text_post]).vectors[0], as_text, atol=1e-5)


def test_flamingo_untrained_gates_ignore_photos(photos: list[Path]) -> None:
    closed = encoder("openflamingo")
    a = closed.embed_posts([PostInput("p", "Seat", "", tuple(photos[:2]))]).vectors[0]
    b = closed.embed_posts([PostInput("p", "Seat", "", tuple(photos[2:4]))]).vectors[0]
    np.testing.assert_allclose(a, b, atol=1e-6)


STRATEGY_CASES = {
    "first": {"strategy": "first"},
    "interleaved, immediate media (default)": {"strategy": "interleaved"},
    "interleaved, all media": {"strategy": "interleaved", "only_attend_immediate_media": False},
    "per_image_mean": {"strategy": "per_image_mean"},
}


def test_flamingo_multi_image_strategies(photos: list[Path]) -> None:
    """Cosine between a 3-photo post's vector and the vector after replacing its first or its last photo."""
    base, swapped = photos[:3], photos[3:5]
    posts = [
        PostInput("base", "Alloy wheel", "set of four, 17 inch", tuple(base)),
        PostInput("first changed", "Alloy wheel", "set of four, 17 inch", (swapped[0], base[1], base[2])),
        PostInput("last changed", "Alloy wheel", "set of four, 17 inch", (base[0], base[1], swapped[1])),
    ]
    table: dict[str, tuple[float, float]] = {}
    for label, options in STRATEGY_CASES.items():
        vectors = encoder("openflamingo", gate_init=GATE, **options).embed_posts(posts).vectors
        table[label] = (cosine(vectors[0], vectors[1]), cosine(vectors[0], vectors[2]))
    print("\n| strategy | cos after changing FIRST photo | cos after changing LAST photo |\n|---|---|---|")
    for label, (first, last) in table.items():
        print(f"| {label} | {first:.6f} | {last:.6f} |")

    first, last = table["first"]
    assert last > 1 - 1e-6 and first < 0.999
    first, last = table["per_image_mean"]
    assert first < 0.999 and last < 0.999
    immediate_first, immediate_last = table["interleaved, immediate media (default)"]
    # The text attends only to the latest <image>: the first photo reaches it only through its token's state.
    assert immediate_last < 0.999 and 1 - immediate_first < 0.1 * (1 - immediate_last)
    all_first, _ = table["interleaved, all media"]
    assert 1 - all_first > 10 * (1 - immediate_first)


def test_flamingo_options_and_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="strategy"):
        encoder("openflamingo", strategy="mean")
    with pytest.raises(EncoderError, match="unknown option "):
        encoder("openflamingo", gates=1)
    with pytest.raises(EncoderError, match="tiny"):
        encoder("openflamingo", checkpoint="x.pt")
    monkeypatch.setenv("C2C_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsNotFound, match="mpt-1b-redpajama-200b") as missing:
        create_encoder("openflamingo", CPU)
    assert missing.value.path == tmp_path / "mpt-1b-redpajama-200b"
    (tmp_path / "mpt-1b-redpajama-200b").mkdir()
    with pytest.raises(WeightsNotFound, match="OpenFlamingo-3B-vitl-mpt1b") as missing:
        create_encoder("openflamingo", CPU)
    assert missing.value.path == tmp_path / "OpenFlamingo-3B-vitl-mpt1b" / "checkpoint.pt"
    (tmp_path / "OpenFlamingo-3B-vitl-mpt1b").mkdir()
    (tmp_path / "OpenFlamingo-3B-vitl-mpt1b" / "checkpoint.pt").touch()
    with pytest.raises(WeightsNotFound, match="ViT-L-14") as missing:
        create_encoder("openflamingo", CPU)
    assert missing.value.path == tmp_path / "vit_large_patch14_clip_224.openai" / "open_clip_model.safetensors"
