"""The HEAR API (hearbenchmark.com, ``docs/api.md``) for the zoo's models.

    from topoaudio_zoo import hear

    model = hear.load_model()  # "" → the embedded default model; or a name, hf-hub: id, folder
    embeddings, timestamps = hear.get_timestamp_embeddings(audio, model)  # audio (n, samples)
    scene = hear.get_scene_embeddings(audio, model)  # (n, scene_embedding_size)

Audio comes at ``model.sample_rate`` (16 kHz by default; 22 050, 44 100 and 48 000 Hz can be
chosen) and is resampled inside to the network's 20 kHz. Each sound is first demeaned and
scaled to the network's training level (RMS 0.1) as a whole, then cut into overlapping windows
of the network's clip length (2 s for the shipped models) every ``step`` (26 frames = 1.04 s),
each window keeping 12 frames (0.48 s) of context on either side; windows past the ends are
zero-padded. A frame's embedding is the concatenation, over the backbone's last three stages
(:meth:`~topoaudio_zoo.backbones.Backbone.forward_intermediates`; ``layer2`` … ``layer4`` of
a CochResNet), of every unit's response averaged over frequency and linearly interpolated
along time to the 40-ms frame grid. Frame ``k`` covers ``[40 k, 40 (k + 1))`` ms; its
timestamp is its centre, ``40 k + 20`` ms; a sound of ``L`` seconds has ``ceil(L / 0.04)``
frames. The scene embedding is the mean of a sound's frame embeddings.

Windows are run in batches of ``window_batch`` (16) whatever the length of the audio, so the
memory beyond the input and the output stays bounded (20 minutes of audio included). Every
sound is processed on its own (eval mode, no dropout): results do not depend on the other
sounds of the batch, and the same input gives the same output.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .audio import resample
from .zoo.model import TopoAudioModel
from .zoo.registry import DEFAULT_MODEL, from_pretrained

__all__ = [
    "DEFAULT_MODEL",
    "HOP_MS",
    "SAMPLE_RATES",
    "HearModel",
    "get_scene_embeddings",
    "get_timestamp_embeddings",
    "load_model",
]

SAMPLE_RATES = (16000, 22050, 44100, 48000)
"""Input rates the HEAR API allows, in Hz."""
HOP_MS = 40
"""Distance between timestamps, in ms."""
_STAGES = 3


class HearModel(nn.Module):
    """A zoo model with the attributes the HEAR API reads.

    Args:
        model: the zoo model.
        sample_rate: input rate in Hz, one of :data:`SAMPLE_RATES`.
        window_batch: windows per forward pass (the memory bound).

    Attributes:
        sample_rate: input rate in Hz.
        scene_embedding_size, timestamp_embedding_size: embedding widths.
        hop_ms: distance between timestamps (40 ms).
    """

    def __init__(
        self, model: TopoAudioModel, sample_rate: int = 16000, window_batch: int = 16
    ) -> None:
        super().__init__()
        if sample_rate not in SAMPLE_RATES:
            raise ValueError(f"sample_rate: expected one of {SAMPLE_RATES} Hz, got {sample_rate}")
        if isinstance(window_batch, bool) or not isinstance(window_batch, int) or window_batch < 1:
            raise ValueError(f"window_batch: expected a positive int, got {window_batch!r}")
        self.model = model.eval()
        self.sample_rate = sample_rate
        self.window_batch = window_batch
        self.hop_ms = HOP_MS
        self.hop = sample_rate * HOP_MS // 1000
        window_ms = 1000 * model.clip_samples / model.sample_rate
        self.window_frames = round(window_ms / HOP_MS)
        if not math.isclose(self.window_frames * HOP_MS, window_ms) or self.window_frames < 4:
            raise ValueError(
                f"the model's clip ({window_ms:g} ms) must be a multiple of {HOP_MS} ms of at "
                "least 4 frames for timestamp embeddings"
            )
        self.margin = self.window_frames // 4
        self.step = self.window_frames - 2 * self.margin
        self.window = self.window_frames * self.hop
        with torch.inference_mode():
            probe = torch.zeros(1, self.window, device=self._device())
            width = self._window_embeddings(probe).shape[1]
        self.timestamp_embedding_size = width
        self.scene_embedding_size = width

    def _device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _window_embeddings(self, windows: torch.Tensor) -> torch.Tensor:
        """``(m, window)`` input-rate windows → ``(m, D, window_frames)`` frame embeddings."""
        clips = resample(windows, self.sample_rate, self.model.sample_rate)
        clips = F.pad(clips, (0, max(0, self.model.clip_samples - clips.shape[-1])))
        clips = clips[:, : self.model.clip_samples]
        stages = self.model.forward_intermediates(
            clips, indices=_STAGES, intermediates_only=True, stop_early=True
        )
        frames = [
            F.interpolate(
                stage.mean(dim=2), size=self.window_frames, mode="linear", align_corners=False
            )
            for stage in stages
        ]
        return torch.cat(frames, dim=1)

    def _level(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each sound's mean and the factor that brings it to the model's RMS, ``(n_sounds,)``
        each, summed chunk by chunk in float64 (no copy of the audio is made)."""
        n_samples = audio.shape[1]
        sums = torch.zeros(audio.shape[0], dtype=torch.float64, device=audio.device)
        squares = torch.zeros_like(sums)
        for chunk in audio.split(1 << 18, dim=1):
            chunk = chunk.double()
            sums += chunk.sum(dim=1)
            squares += chunk.square().sum(dim=1)
        mean = sums / n_samples
        rms = (squares / n_samples - mean.square()).clamp_min(0).sqrt()
        target = self.model.config["rms"]
        scale = torch.ones_like(rms) if target is None else target / rms.clamp_min(1e-12)
        scale = torch.where(rms > 1e-12, scale, torch.ones_like(rms))
        return mean.to(audio.dtype), scale.to(audio.dtype)

    def _window(
        self, sound: torch.Tensor, index: int, mean: torch.Tensor, scale: torch.Tensor
    ) -> torch.Tensor:
        """Window ``index`` of a sound, demeaned and scaled, zero-padded past its ends."""
        start = (index * self.step - self.margin) * self.hop
        low, high = max(start, 0), min(start + self.window, sound.shape[0])
        values = (sound[low:high] - mean) * scale
        return F.pad(values, (low - start, start + self.window - high))

    def timestamp_embeddings(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """See :func:`get_timestamp_embeddings`."""
        if not torch.is_tensor(audio) or audio.ndim != 2 or not audio.is_floating_point():
            raise ValueError(
                "audio: expected a float tensor (n_sounds, n_samples), got "
                f"{getattr(audio, 'shape', type(audio).__name__)}"
            )
        if audio.shape[0] == 0 or audio.shape[1] == 0:
            raise ValueError(f"audio: no samples, shape {tuple(audio.shape)}")
        n_sounds, n_samples = audio.shape
        device = self._device()
        n_frames = math.ceil(n_samples / self.hop)
        n_windows = math.ceil(n_frames / self.step)
        mean, scale = self._level(audio)
        embeddings = torch.empty(
            n_sounds, n_windows * self.step, self.timestamp_embedding_size, device=device
        )
        pairs = [(sound, window) for sound in range(n_sounds) for window in range(n_windows)]
        with torch.inference_mode():
            for start in range(0, len(pairs), self.window_batch):
                chunk = pairs[start : start + self.window_batch]
                windows = torch.stack(
                    [self._window(audio[s], w, mean[s], scale[s]) for s, w in chunk]
                ).to(device=device, dtype=torch.float32)
                frames = self._window_embeddings(windows)
                central = frames[..., self.margin : self.margin + self.step].transpose(1, 2)
                for (s, w), values in zip(chunk, central, strict=True):
                    embeddings[s, w * self.step : (w + 1) * self.step] = values
        embeddings = embeddings[:, :n_frames].to(audio.device)
        timestamps = (torch.arange(n_frames, dtype=torch.float32) + 0.5) * self.hop_ms
        return embeddings, timestamps.expand(n_sounds, -1).to(audio.device)


def load_model(model_file_path: str = "", sample_rate: int = 16000) -> HearModel:
    """The HEAR model of a zoo model.

    Args:
        model_file_path: ``""`` (the embedded default, :data:`DEFAULT_MODEL`), a registry
            name, ``hf-hub:org/name[@revision]`` or a model folder (given as a path, e.g.
            ``./my-model``); see :func:`topoaudio_zoo.from_pretrained`.
        sample_rate: input rate in Hz, one of :data:`SAMPLE_RATES` (default 16 kHz).
    """
    return HearModel(from_pretrained(model_file_path or DEFAULT_MODEL), sample_rate)


def get_timestamp_embeddings(
    audio: torch.Tensor, model: HearModel
) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame embeddings every 40 ms.

    Args:
        audio: ``(n_sounds, n_samples)`` float, mono, at ``model.sample_rate`` Hz, in [-1, 1].
        model: from :func:`load_model`.

    Returns:
        ``(embeddings (n_sounds, n_frames, timestamp_embedding_size) float32, timestamps
        (n_sounds, n_frames) float32 in ms)``, ``n_frames = ceil(n_samples / hop)``, frame
        centres at ``40 k + 20`` ms.
    """
    return model.timestamp_embeddings(audio)


def get_scene_embeddings(audio: torch.Tensor, model: HearModel) -> torch.Tensor:
    """One embedding per sound, ``(n_sounds, scene_embedding_size)`` float32: the mean of its
    frame embeddings (see :func:`get_timestamp_embeddings`)."""
    embeddings, _ = model.timestamp_embeddings(audio)
    return embeddings.mean(dim=1)
