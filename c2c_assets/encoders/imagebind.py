"""Family ``imagebind``: Meta's ImageBind, whose image, text and audio towers embed into one space
(the fused post embeddings of arXiv 2409.10528).

- A photo's vector is the vision tower's output, a text's the text tower's, an audio file's the audio
  tower's (mean over three 2-s clips); each is L2-normalized here, because the model scales text by
  about 14.3 and audio by 20 after its own normalization, and unequal norms would skew the fusion.
- A post's vector is ``fuse(image, text, image_weight)``: ``image`` is the normalized mean of its
  normalized photo vectors, ``text`` the vector of ``PostInput.text``; with ``image_weight`` 0.5 this is
  the paper's ``0.5 * (mean image + text)``, renormalized. A post with one side gets that side; a post
  with neither photos nor text gets a NaN row (not embeddable). ``parts`` holds ``image`` and ``text``.
- ``embed_audio(wav_paths)`` embeds sounds into the same space, for audio-to-post search.

Options:
- ``weights``: Meta's ``imagebind_huge.pth`` (a plain state dict); default ``C2C_WEIGHTS_DIR/imagebind_huge.pth``.
- ``image_weight``: weight of the photo side in the fused post vector (default 0.5).
- ``tiny``: every size small (32-d, one block per tower, about 1.7 M parameters) for tests; random and
  seeded unless ``weights`` is given. Inputs keep their full sizes (224 px, 77 tokens, 3x1x128x204 audio).
- ``seed``: the seed of the tiny random init (default 0).
- ``photos``: ``all`` or ``first`` (every family's; see ``EncoderOptions``).

The options are the pydantic model ``Options``, validated once when the encoder is created.

Only ``imagebind.models`` is imported: the package's ``__init__`` imports ``data.py``, which needs
pytorchvideo (broken on current torchvision), so the preprocessing of Meta's ``data.py`` is redone here:
photos are resized (bicubic) to 224 px on the short side, center-cropped and normalized with CLIP's
mean/std; texts use ImageBind's own BPE tokenizer (its bundled ``bpe_simple_vocab_16e6.txt.gz``, 77
tokens); audio is read from PCM WAV files with the stdlib ``wave`` module, averaged to mono (Meta's loader
keeps only the first channel), resampled to 16 kHz, cut into 3 clips of 2 s spread evenly over the file,
each turned into a 128-bin Kaldi log-mel filterbank (25 ms windows, 10 ms hop) padded or cut to 204
frames and normalized with mean -4.268 and std 9.138. torchaudio computes the resampling and filterbank
when it imports; otherwise a torch implementation of the same filterbank and an FFT resampler are used.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import types
import wave
from collections.abc import Sequence
from fractions import Fraction
from functools import cache, cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from c2c_assets.encoders.base import (
    AUDIO,
    IMAGE,
    TEXT,
    Encoder,
    EncoderError,
    EncoderOptions,
    PathOption,
    PostInput,
    PostVectors,
    RuntimeSettings,
    UnitWeight,
    check_checkpoint_keys,
    file_fingerprint,
    image_batches,
    inference,
    l2_normalize,
    load_torch_file,
    require_file,
    resolve_device,
    shared_space_fuse,
    shared_space_post_vectors,
)

FAMILY = "imagebind"
CHECKPOINT = "imagebind_huge.pth"
ORIGIN = (
    "The weights are Meta's public ImageBind release, `imagebind_huge.pth` "
    "(https://dl.fbaipublicfiles.com/imagebind/imagebind_huge.pth, CC-BY-NC 4.0); "
    "download it on a machine with internet."
)
HUGE_WIDTH = 1024  # out_embed_dim of imagebind_model.imagebind_huge
TINY: dict[str, int] = {
    "out_embed_dim": 32,
    **{f"{tower}_embed_dim": 32 for tower in ("vision", "text", "audio")},
    **{f"{tower}_embed_dim": 16 for tower in ("depth", "thermal", "imu")},
    **{f"{tower}_num_blocks": 1 for tower in ("vision", "text", "audio", "depth", "thermal", "imu")},
    **{f"{tower}_num_heads": 2 for tower in ("vision", "text", "audio", "depth", "thermal", "imu")},
}


class Options(EncoderOptions):
    """The ``imagebind`` family's options (see the module docstring)."""

    weights: PathOption | None = None
    image_weight: UnitWeight = 0.5
    tiny: bool = False
    seed: int = 0


IMAGE_SIZE = 224
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
CONTEXT_LENGTH = 77
SAMPLE_RATE = 16_000
CLIP_SECONDS = 2
CLIPS = 3
MEL_BINS = 128
TARGET_FRAMES = 204
AUDIO_MEAN, AUDIO_STD = -4.268, 9.138
WINDOW, HOP = 400, 160  # 25 ms and 10 ms at 16 kHz


@cache
def _models() -> types.ModuleType:
    """``imagebind.models.imagebind_model``, imported without running ``imagebind/__init__.py``."""
    if "imagebind" not in sys.modules:
        spec = importlib.util.find_spec("imagebind")  # locating a top-level package does not execute it
        if spec is None or not spec.submodule_search_locations:
            raise EncoderError("the `imagebind` family needs the `imagebind-unofficial` package (Meta's code)")
        package = types.ModuleType("imagebind")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["imagebind"] = package
    if importlib.util.find_spec("iopath") is None:
        # The tokenizer module only needs iopath's `g_pathmgr.open` for local files; the builtin does that.
        file_io = types.ModuleType("iopath.common.file_io")
        file_io.g_pathmgr = types.SimpleNamespace(open=open)  # type: ignore[attr-defined]
        sys.modules.update({"iopath": types.ModuleType("iopath"), "iopath.common": types.ModuleType("iopath.common"),
                            "iopath.common.file_io": file_io})
    return importlib.import_module("imagebind.models.imagebind_model")


def _torchaudio() -> types.ModuleType | None:
    try:
        import torchaudio.compliance.kaldi
        import torchaudio.functional

        return torchaudio
    except (ImportError, OSError):  # OSError: a torchaudio build whose native library does not match torch
        return None


def read_wav(path: Path | str) -> tuple[np.ndarray, int]:
    """A PCM WAV file as float32 samples in [-1, 1], shape (channels, frames), and its sample rate."""
    try:
        with wave.open(str(path), "rb") as handle:
            rate, channels, width = handle.getframerate(), handle.getnchannels(), handle.getsampwidth()
            raw = handle.readframes(handle.getnframes())
    except (wave.Error, EOFError) as error:
        raise EncoderError(f"cannot read {path} as a PCM WAV file: {error}") from error
    if width == 1:
        samples = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
    elif width == 3:
        triples = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        ints = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        samples = (np.where(ints >= 1 << 23, ints - (1 << 24), ints) / float(1 << 23)).astype(np.float32)
    else:
        dtype = {2: np.int16, 4: np.int32}[width]
        samples = np.frombuffer(raw, dtype).astype(np.float32) / float(np.iinfo(dtype).max + 1)
    return samples.reshape(-1, channels).T, rate


def _resample(waveform: Any, rate: int) -> Any:
    if rate == SAMPLE_RATE:
        return waveform
    torchaudio = _torchaudio()
    if torchaudio is not None:
        return torchaudio.functional.resample(waveform, orig_freq=rate, new_freq=SAMPLE_RATE)
    import torch

    # Band-limited resampling in the frequency domain: keep the bins below the new Nyquist frequency.
    frames = waveform.shape[-1]
    out = max(1, round(frames * SAMPLE_RATE / rate))
    spectrum = torch.fft.rfft(waveform)[..., : out // 2 + 1]
    return torch.fft.irfft(spectrum, n=out) * (out / frames)


@cache
def _mel_banks() -> Any:
    """Kaldi's triangular mel filters for 128 bins, 20 Hz to Nyquist, a 512-point FFT: (128, 257)."""
    import torch

    def mel(freq: Any) -> Any:
        return 1127.0 * torch.log(1.0 + freq / 700.0)

    fft_bins = 256
    low, high = mel(torch.tensor(20.0)), mel(torch.tensor(SAMPLE_RATE / 2))
    delta = (high - low) / (MEL_BINS + 1)
    left = low + delta * torch.arange(MEL_BINS).unsqueeze(1)
    center, right = left + delta, left + 2 * delta
    freqs = mel(SAMPLE_RATE / (2 * fft_bins) * torch.arange(fft_bins)).unsqueeze(0)
    banks = torch.clamp(torch.minimum((freqs - left) / (center - left), (right - freqs) / (right - center)), min=0)
    return torch.nn.functional.pad(banks, (0, 1))


def kaldi_fbank(waveform: Any) -> Any:
    """Kaldi log-mel filterbank of a mono 16 kHz waveform (1, n), as ImageBind computes it with torchaudio
    (hanning window, no dither, pre-emphasis 0.97, DC removal, power spectrum, htk_compat): (frames, 128)."""
    import torch

    frames = 1 + (waveform.shape[-1] - WINDOW) // HOP if waveform.shape[-1] >= WINDOW else 0
    if frames == 0:
        return torch.zeros(0, MEL_BINS)
    strided = waveform[0].as_strided((frames, WINDOW), (HOP, 1))
    strided = strided - strided.mean(dim=1, keepdim=True)
    previous = torch.cat([strided[:, :1], strided[:, :-1]], dim=1)
    strided = (strided - 0.97 * previous) * torch.hann_window(WINDOW, periodic=False, dtype=strided.dtype)
    power = torch.fft.rfft(strided, n=512).abs().pow(2)
    energies = power @ _mel_banks().to(power.dtype).T
    return torch.clamp(energies, min=torch.finfo(torch.float).eps).log()


def audio_clips(samples: np.ndarray, rate: int) -> Any:
    """ImageBind's audio input for one file: (3, 1, 128, 204), from samples shaped (channels, frames)."""
    import torch

    waveform = _resample(torch.from_numpy(np.ascontiguousarray(samples.mean(axis=0, keepdims=True))), rate)
    torchaudio = _torchaudio()
    duration = Fraction(waveform.shape[-1], SAMPLE_RATE)
    clips = []
    for index in range(CLIPS):
        # Clip starts spread evenly from 0 to the end minus 2 s (pytorchvideo's ConstantClipsPerVideoSampler).
        start = max(duration - CLIP_SECONDS, 0) * index / (CLIPS - 1)
        clip = waveform[:, int(start * SAMPLE_RATE) : int((start + CLIP_SECONDS) * SAMPLE_RATE)]
        clip = clip - clip.mean()
        if torchaudio is not None and clip.shape[-1] >= WINDOW:
            fbank = torchaudio.compliance.kaldi.fbank(
                clip, htk_compat=True, sample_frequency=SAMPLE_RATE, use_energy=False, window_type="hanning",
                num_mel_bins=MEL_BINS, dither=0.0, frame_length=25, frame_shift=10,
            )
        else:
            fbank = kaldi_fbank(clip)
        fbank = fbank.T[:, :TARGET_FRAMES]
        fbank = torch.nn.functional.pad(fbank, (0, TARGET_FRAMES - fbank.shape[1]))
        clips.append(((fbank - AUDIO_MEAN) / AUDIO_STD).unsqueeze(0))
    return torch.stack(clips)


class ImageBindEncoder(Encoder):
    family = FAMILY
    fuses_parts = True
    modalities = frozenset({IMAGE, TEXT, AUDIO})
    Options = Options
    # One shared space: text, photo and sound queries all search the photo vectors.
    query_sides = MappingProxyType({TEXT: IMAGE, IMAGE: IMAGE, AUDIO: IMAGE, "like": "post"})
    opts: Options

    def __init__(
        self, name: str, options: dict[str, Any], runtime: RuntimeSettings | None = None, home: Path | None = None
    ) -> None:
        super().__init__(name, options, runtime, home)
        what = f"encoder {name!r} ({FAMILY})"
        self.tiny = self.opts.tiny
        self.seed = self.opts.seed
        self.image_weight = float(self.opts.image_weight)
        # Only the tiny model may run on random weights; the real one needs its file, checked up front.
        self.weights_path: Path | None = None
        if self.opts.weights or not self.tiny:
            self.weights_path = require_file(self.opts.weights, CHECKPOINT, f"{what}: imagebind_huge", ORIGIN)

    @property
    def width(self) -> int:
        return TINY["out_embed_dim"] if self.tiny else HUGE_WIDTH

    def weights_identity(self) -> str:
        if self.weights_path is not None:
            return file_fingerprint(self.weights_path)
        return f"random:{self.seed}:{json.dumps(TINY, sort_keys=True)}"

    @cached_property
    def _loaded(self) -> tuple[Any, Any, Any, Any]:
        """(model in eval mode on the device, photo transform, tokenizer, device), built on first use."""
        import torch
        from torchvision import transforms

        models = _models()
        device = resolve_device(self.runtime.device)
        if self.weights_path is not None:
            # Built on the target device: the random init that the checkpoint replaces takes about 20 s for the
            # 1.2 B parameters on 2 CPU cores, and next to nothing on a GPU (Meta's constructors call .item() and
            # cannot run on the meta device). The checkpoint's tensors are taken as they are, memory-mapped from
            # the file (``assign``): the random ones are freed, not copied over, so loading holds one copy.
            with torch.device(device):
                model = models.ImageBindModel(**TINY) if self.tiny else models.imagebind_huge(pretrained=False)
            state = load_torch_file(self.weights_path, map_location=device)
            what = "ImageBind (tiny)" if self.tiny else "imagebind_huge"
            check_checkpoint_keys(self.weights_path, what, list(model.state_dict()), state)
            model.load_state_dict(state, assign=True)
            del state
            model = model.float()  # fp32 on every device (a half-precision file runs under autocast on CUDA)
        else:
            with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's RNG
                torch.manual_seed(self.seed)
                model = models.ImageBindModel(**TINY)
        transform = transforms.Compose([
            transforms.Resize(IMAGE_SIZE, interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(IMAGE_SIZE),
            transforms.ToTensor(),
            transforms.Normalize(CLIP_MEAN, CLIP_STD),
        ])
        bpe = Path(models.__file__).parents[1] / "bpe" / "bpe_simple_vocab_16e6.txt.gz"
        tokenizer = importlib.import_module("imagebind.models.multimodal_preprocessors").SimpleTokenizer(
            bpe_path=str(bpe), context_length=CONTEXT_LENGTH
        )
        return model.eval().to(device), transform, tokenizer, device

    def _forward(self, modality: str, batch: Any) -> np.ndarray:
        model, _, _, device = self._loaded
        return model({modality: batch.to(device, non_blocking=True)})[modality].float().cpu().numpy()

    def embed_images(self, paths: Sequence[Path | str]) -> np.ndarray:
        if not paths:
            return np.zeros((0, self.width), dtype=np.float32)
        _, transform, _, device = self._loaded
        with inference(device, self.runtime.precision):
            chunks = [self._forward("vision", batch) for batch in image_batches(paths, transform, self.runtime, device)]
        return l2_normalize(np.concatenate(chunks))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.width), dtype=np.float32)
        _, _, tokenizer, device = self._loaded
        size = self.runtime.batch_size
        chunks = []
        with inference(device, self.runtime.precision):
            for start in range(0, len(texts), size):
                part = list(texts[start : start + size])
                tokens = tokenizer(part).reshape(len(part), CONTEXT_LENGTH)  # a single text comes back 1-d
                chunks.append(self._forward("text", tokens))
        return l2_normalize(np.concatenate(chunks))

    def embed_audio(self, paths: Sequence[Path | str]) -> np.ndarray:
        """Unit vectors of PCM WAV files (any rate, mono or multichannel) in the shared space."""
        if not paths:
            return np.zeros((0, self.width), dtype=np.float32)
        import torch

        _, _, _, device = self._loaded
        size = self.runtime.batch_size
        chunks = []
        with inference(device, self.runtime.precision):
            for start in range(0, len(paths), size):
                batch = torch.stack([audio_clips(*read_wav(path)) for path in paths[start : start + size]])
                if device.type == "cuda" and self.runtime.pin_memory:
                    batch = batch.pin_memory()
                chunks.append(self._forward("audio", batch))
        return l2_normalize(np.concatenate(chunks))

    def embed_posts(self, posts: Sequence[PostInput]) -> PostVectors:
        return shared_space_post_vectors(self, posts, self.image_weight)

    def fuse_parts(self, image: np.ndarray, text: np.ndarray) -> np.ndarray:
        return shared_space_fuse(image, text, self.image_weight)


ENCODER = ImageBindEncoder


def create(name: str, options: dict[str, Any], runtime: RuntimeSettings, home: Path | None = None) -> Encoder:
    return ImageBindEncoder(name, options, runtime, home)
