"""``TopoAudioModel``: cochleagram + backbone + heads, with its configuration, as a Hub model."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from huggingface_hub import ModelCard, PyTorchModelHubMixin
from torch import nn

from ..atomic import atomic_path, atomic_write_text
from ..audio import AudioError, load_audio, prepare_waveform
from ..backbones import Backbone, create_backbone
from ..cochleagram import Cochleagram
from ..topography import TopographicLoss
from .card import model_card_text
from .config import normalize_config
from .hub import CONFIG_FILE, WEIGHTS_FILE
from .preflight import check_weight_file, meta_model
from .weights import WeightsError, file_sha256, load_weights_strict, verify_sha256

__all__ = ["AudioInput", "TopoAudioModel"]

AudioInput = str | os.PathLike | torch.Tensor | np.ndarray | Sequence[str | os.PathLike]


class TopoAudioModel(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="topoaudio-zoo",
    repo_url="https://github.com/topoaudio-zoo/topoaudio-zoo",
    paper_url="https://arxiv.org/abs/2509.24039",
    license="mit",
    tags=["audio", "auditory-models", "topography", "cochleagram", "neuroscience"],
):
    """A complete auditory model: waveform → cochleagram → backbone → logits per task.

    Args:
        config: the model configuration (see :func:`topoaudio_zoo.zoo.config.normalize_config`);
            it is validated, completed, stored as ``self.config`` and saved as ``config.json``.

    The forward pass takes waveforms ``(batch, clip_samples)`` at ``sample_rate`` Hz, already
    prepared (mono, demeaned, RMS ``rms``: see :meth:`preprocess`), and returns
    ``{task: logits (batch, n_classes)}``.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = normalize_config(config)
        meta_model(self.config)  # refuses a model too large to build, before allocating it
        self._hub_mixin_config = self.config
        coch = self.config["cochleagram"]
        self.cochleagram = Cochleagram(coch["preset"], mode=coch["mode"], **coch["overrides"])
        heads = {task: head["num_classes"] for task, head in self.config["heads"].items()}
        self.backbone: Backbone = create_backbone(
            self.config["architecture"], heads=heads, **self.config["architecture_kwargs"]
        )

    @property
    def sample_rate(self) -> int:
        """Input rate in Hz."""
        return self.config["sample_rate"]

    @property
    def clip_samples(self) -> int:
        """Input length in samples."""
        return self.config["clip_samples"]

    @property
    def label_names(self) -> dict[str, list[str]]:
        """Class names per task (index order); numbers as strings where none were recorded."""
        return {
            task: head["labels"] or [str(i) for i in range(head["num_classes"])]
            for task, head in self.config["heads"].items()
        }

    def forward(self, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        """``(batch, clip_samples)`` waveforms → ``{task: logits (batch, n_classes)}``."""
        return self.forward_cochleagram(self.cochleagram(waveform))

    def forward_cochleagram(self, cochleagram: torch.Tensor) -> dict[str, torch.Tensor]:
        """``(batch, channels, frames)`` cochleagrams → ``{task: logits}``."""
        out = self.backbone(cochleagram)
        if not isinstance(out, dict):
            raise ValueError("this model has no heads: use embed() for features")
        return out

    def embed(self, waveform: torch.Tensor) -> torch.Tensor:
        """Pooled features before the heads, ``(batch, num_features)``."""
        return self.forward_head(self.forward_features(waveform), pre_logits=True)

    def _as_cochleagram(self, x: torch.Tensor) -> torch.Tensor:
        """Waveforms ``(batch, samples)`` through the front end; cochleagrams unchanged."""
        return self.cochleagram(x) if x.ndim == 2 else x

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's last map before pooling (timm's ``forward_features``).

        ``x``: waveforms ``(batch, clip_samples)`` at ``sample_rate`` Hz, or cochleagrams
        ``(batch, channels, frames)`` / ``(batch, 1, channels, frames)``.
        """
        return self.backbone.forward_features(self._as_cochleagram(x))

    def forward_head(
        self, x: torch.Tensor, pre_logits: bool = False
    ) -> torch.Tensor | dict[str, torch.Tensor]:
        """Pooling and heads of the backbone (timm's ``forward_head``); ``pre_logits=True``
        gives the pooled embedding ``(batch, num_features)``."""
        return self.backbone.forward_head(x, pre_logits=pre_logits)

    def forward_intermediates(
        self, x: torch.Tensor, indices: int | Sequence[int] | None = None, **kwargs: Any
    ) -> list[torch.Tensor] | tuple[torch.Tensor, list[torch.Tensor]]:
        """timm's ``forward_intermediates`` on waveforms or cochleagrams (as
        :meth:`forward_features`); see :meth:`Backbone.forward_intermediates
        <topoaudio_zoo.backbones.Backbone.forward_intermediates>` for the options."""
        return self.backbone.forward_intermediates(self._as_cochleagram(x), indices, **kwargs)

    def topographic_loss(self, tau: float | None = None) -> TopographicLoss:
        """The TopoLoss of this model's configuration (``tau`` overrides the recorded τ)."""
        topo = self.config["topography"]
        return TopographicLoss(
            self.backbone,
            tau=topo["tau"] if tau is None else tau,
            factor=tuple(topo["factor"]),
            layers=topo["layers"],
        )

    def preprocess(
        self,
        waveform: torch.Tensor | np.ndarray,
        sr: int,
        offset: int | str = "center",
        name: str = "waveform",
    ) -> torch.Tensor:
        """Make any waveform a model input: mono, resampled, cropped/padded, RMS-normalised.

        Args:
            waveform: one sound, ``(time,)`` or ``(channels, time)`` (channels are averaged).
            sr: its rate in Hz (resampled to ``sample_rate``; never ignored).
            offset: where to crop or pad (see :func:`topoaudio_zoo.audio.crop_or_pad`).
            name: the sound's name (e.g. its file) in errors and warnings.

        Returns:
            ``(1, clip_samples)`` float32.

        Warns:
            AudioWarning: naming the sound when it is cropped (with the kept span), much
                shorter than the input, or silent (see
                :func:`topoaudio_zoo.audio.prepare_waveform`).
        """
        if isinstance(waveform, np.ndarray):
            waveform = torch.from_numpy(np.ascontiguousarray(waveform))
        clip = prepare_waveform(
            waveform,
            sr,
            self.sample_rate,
            self.clip_samples,
            rms=self.config["rms"],
            offset=offset,
            name=name,
        )
        return clip.unsqueeze(0)

    def _batch_from(self, audio: AudioInput, sr: int | None) -> tuple[torch.Tensor, list[str]]:
        if isinstance(audio, str | os.PathLike):
            audio = [audio]
        if isinstance(audio, np.ndarray):
            audio = torch.from_numpy(np.ascontiguousarray(audio))
        if torch.is_tensor(audio):
            if audio.ndim not in (1, 2):
                raise AudioError(f"audio: expected (time,) or (batch, time), got {audio.shape}")
            rate = self.sample_rate if sr is None else sr
            sounds = audio.reshape(1, -1) if audio.ndim == 1 else audio
            clips = [
                self.preprocess(sound, rate, name=f"audio[{i}]") for i, sound in enumerate(sounds)
            ]
            return torch.cat(clips), [f"sound{i}" for i in range(len(clips))]
        if sr is not None:
            raise AudioError(
                f"sr={sr}: a rate is given only with waveforms; audio files are read at their "
                "own rate and resampled"
            )
        paths = list(audio)
        if not paths:
            raise AudioError("audio: an empty list; give a path, a list of paths or waveforms")
        clips, names = [], []
        for index, path in enumerate(paths):
            if not isinstance(path, str | os.PathLike):
                raise AudioError(
                    f"audio[{index}]: expected a file path, got {type(path).__name__} (waveforms "
                    "go in one (batch, time) tensor, with sr=...)"
                )
            waveform, rate = load_audio(path)
            clips.append(self.preprocess(waveform, rate, name=str(path)))
            names.append(str(path))
        return torch.cat(clips), names

    @torch.no_grad()
    def predict(
        self, audio: AudioInput, sr: int | None = None, top_k: int = 5
    ) -> list[dict[str, Any]]:
        """Labelled predictions for sounds.

        Args:
            audio: a file path, a list of paths, or waveforms ``(time,)``/``(batch, time)``
                at ``sr`` Hz (default: the model's rate).
            sr: rate of waveform input in Hz (resampled to ``sample_rate``); not allowed with
                files, which carry their own rate.
            top_k: labels kept per head.

        Returns:
            One dict per sound: ``{"sound": name, task: [(label, probability), ...]}``, sorted
            by probability (softmax for multi-class heads, sigmoid for multi-label heads).
        """
        batch, names = self._batch_from(audio, sr)
        device = next(self.parameters()).device
        was_training = self.training
        self.eval()
        logits = self(batch.to(device))
        self.train(was_training)
        results = [{"sound": name} for name in names]
        for task, values in logits.items():
            multilabel = self.config["heads"][task]["type"] == "multilabel"
            probs = values.float().sigmoid() if multilabel else values.float().softmax(-1)
            k = min(top_k, probs.shape[-1])
            top = probs.topk(k, dim=-1)
            labels = self.label_names[task]
            rows = zip(top.values.tolist(), top.indices.tolist(), strict=True)
            for row, (p, i) in enumerate(rows):
                results[row][task] = [(labels[j], prob) for j, prob in zip(i, p, strict=True)]
        return results

    def generate_model_card(self, *args: Any, **kwargs: Any) -> ModelCard:
        """The README.md written next to the weights: architecture, τ, data, metrics, limits."""
        return ModelCard(model_card_text(self.config, self.num_parameters()))

    def _save_pretrained(self, save_directory: Path) -> None:
        """Write ``model.safetensors``, ``config.json`` and the model card, each atomically.

        The config is written here, in its own key order: the mixin's ``sort_keys=True`` would
        reorder the heads (and so the outputs) on reload. The card is regenerated every time:
        the mixin writes ``README.md`` only when absent, leaving a stale card behind.
        """
        from safetensors.torch import save_model

        with atomic_path(Path(save_directory) / WEIGHTS_FILE) as tmp:
            save_model(self, str(tmp))
        self.write_config_and_card(save_directory)

    def write_config_and_card(self, folder: Path) -> None:
        """Write ``config.json`` (``self.config``) and the ``README.md`` card into ``folder``.

        The weights are left as they are: use it to update a saved model's config (e.g. its
        recorded metrics) without rewriting ``model.safetensors``. The config records the
        SHA-256 of the folder's ``model.safetensors`` (``weights_sha256``), verified on load.
        """
        folder = Path(folder)
        weights = folder / WEIGHTS_FILE
        if weights.is_file():
            self.config["weights_sha256"] = file_sha256(weights)
        atomic_write_text(
            folder / CONFIG_FILE, json.dumps(self.config, indent=2, ensure_ascii=False) + "\n"
        )
        atomic_write_text(folder / "README.md", str(self.generate_model_card()))

    def num_parameters(self) -> int:
        """Trainable and frozen parameters of the backbone and heads."""
        return sum(p.numel() for p in self.parameters())

    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike, **options: Any
    ) -> TopoAudioModel:
        """Load a registry name, ``hf-hub:org/name[@revision]`` or a local folder (given as a
        path: absolute or with a separator, ``./name``), strictly, from safetensors only.

        The same function as :func:`topoaudio_zoo.from_pretrained`, with the same keyword
        arguments (``revision``, ``cache_dir``, ``local_files_only``, ``force_download``,
        ``token``, ``map_location``).
        """
        from .registry import from_pretrained

        return from_pretrained(pretrained_model_name_or_path, **options)

    @classmethod
    def from_folder(
        cls,
        folder: str | os.PathLike,
        map_location: str | torch.device = "cpu",
        label: str | None = None,
        sha256: str | None = None,
    ) -> TopoAudioModel:
        """Build from ``folder/config.json`` and load ``folder/model.safetensors`` strictly.

        ``sha256``, when given, is the weight file's expected digest, checked before loading.
        """
        folder = Path(folder)
        label = label or str(folder)
        try:
            config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{label}: cannot read {folder / CONFIG_FILE} ({err})") from err
        try:
            normalized = normalize_config(config)
            where = f"{label} ({folder / WEIGHTS_FILE})"  # as the strict loader names it
            check_weight_file(normalized, folder / WEIGHTS_FILE, where)
        except WeightsError:
            raise
        except ValueError as err:
            raise ValueError(f"{label}: {folder / CONFIG_FILE}: {err}") from err
        expected = sha256 or normalized["weights_sha256"]
        if expected is not None and (folder / WEIGHTS_FILE).is_file():
            verify_sha256(folder / WEIGHTS_FILE, expected, source=label)
        model = cls(config)
        load_weights_strict(model, folder / WEIGHTS_FILE, source=label)
        return model.to(map_location).eval()
