"""Word-Speaker-Noise: speech mixed with backgrounds at random SNRs, three classification tasks.

TopoAudio's training set (speech clips from spoken sentences over AudioSet backgrounds) is not
public; :class:`WSNDataModule` reproduces its structure from a speech source with word and
speaker labels (Speech Commands layout) and a labelled background source (NSynth, ESC-50, an
audio folder, or the sound-category corpus of ``topoaudio-zoo make-corpus backgrounds``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..audio import DEFAULT_RMS, normalize_rms
from .audio_folder import audio_folder_tables
from .augment import Augment, augment_generator
from .background_corpus import check_background_corpus, read_background_corpus
from .base import IGNORE_INDEX, AudioDataModule, ClipSource, ClipTable, place
from .download import require_paths
from .esc50 import check_esc50, esc50_table, fetch_esc50, read_esc50
from .nsynth import TARGETS, check_nsynth, fetch_nsynth, read_nsynth
from .sampling import resolve_item
from .speech_commands import (
    SpeechClip,
    check_speech_commands,
    fetch_speech_commands,
    scan_speech_commands,
)

__all__ = ["MixtureDataset", "WSNDataModule", "mix", "split_speaker_holdout"]

SPEECH_FORMATS = ("speech_commands",)
BACKGROUND_FORMATS = ("nsynth", "esc50", "audio_folder", "backgrounds")
ESC50_FOLDS = {"train": (1, 2, 3), "val": (4,), "test": (5,)}
BACKGROUND_PLACEMENT = {
    "nsynth": "start",
    "esc50": "loudest",
    "audio_folder": "center",
    "backgrounds": "loudest",
}


def mix(
    speech: torch.Tensor,
    background: torch.Tensor,
    snr_db: float | torch.Tensor,
    rms: float = DEFAULT_RMS,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mix speech and background at a given SNR and normalise the mixture.

    Both inputs, ``(..., time)``, are demeaned and scaled to RMS ``rms`` over the whole clip,
    the background is scaled by ``10^(−snr/20)``, the sum is scaled to RMS ``rms``; the same
    final gain is applied to the two parts, so that ``mixture = speech_part + background_part``
    and ``20·log10(rms(speech_part) / rms(background_part)) = snr_db`` (when neither input is
    silent). The SNR is thus defined over the whole clip, zero padding of a short word
    included: within a 1-s word in a 2-s clip the local SNR is 3 dB higher.

    Args:
        speech, background: ``(..., time)`` waveforms of the same shape.
        snr_db: a number or a tensor of shape ``(...)`` (one SNR per waveform), in dB.
        rms: RMS of the returned mixture.

    Returns:
        ``(mixture, speech_part, background_part)``, each ``(..., time)``.
    """
    if speech.shape != background.shape:
        raise ValueError(
            f"mix: speech {tuple(speech.shape)} and background {tuple(background.shape)} differ"
        )
    speech = normalize_rms(speech, rms)
    gain = torch.pow(10.0, -torch.as_tensor(snr_db, dtype=speech.dtype) / 20)
    background = normalize_rms(background, rms) * gain.unsqueeze(-1)
    total = speech + background
    level = total.pow(2).mean(dim=-1, keepdim=True).sqrt()
    scale = torch.where(level > 1e-12, rms / level.clamp_min(1e-12), torch.ones_like(level))
    return total * scale, speech * scale, background * scale


def split_speaker_holdout(
    clips: Sequence[SpeechClip], fraction: float, seed: int
) -> tuple[list[SpeechClip], list[SpeechClip], list[SpeechClip]]:
    """Hold out ``fraction`` of each speaker's clips, alternately for validation and test.

    Per speaker (sorted), ``round(fraction × n)`` of its ``n`` clips, chosen at random (seeded),
    at most ``n − 1`` so that every speaker keeps a training clip. The held-out clips go to
    validation and test in turn, counting across speakers.

    Returns:
        ``(train, val, test)``.
    """
    rng = np.random.default_rng(seed)
    by_speaker: dict[str, list[SpeechClip]] = defaultdict(list)
    for clip in clips:
        by_speaker[clip.speaker].append(clip)
    held: list[SpeechClip] = []
    held_keys: set[str] = set()
    for speaker in sorted(by_speaker):
        own = sorted(by_speaker[speaker], key=lambda c: c.key)
        k = min(len(own) - 1, math.floor(fraction * len(own) + 0.5))
        chosen = [own[i] for i in sorted(rng.permutation(len(own))[:k])]
        held += chosen
        held_keys.update(c.key for c in chosen)
    train = [c for c in clips if c.key not in held_keys]
    return train, held[0::2], held[1::2]


class MixtureDataset(Dataset):
    """One split of Word-Speaker-Noise examples (one per speech clip).

    Item: ``{"waveform": (clip_samples,) mixture, "targets": {"word", "speaker", "background"},
    "key": the speech clip's key}``, plus with ``return_parts`` ``"speech"`` and
    ``"background"`` (the two scaled parts, summing to the mixture), ``"snr_db"`` and
    ``"background_key"``. In training the word's position, the background clip, its 2-s window
    and the SNR are drawn anew for every example and epoch; in val/test they are fixed per
    index (word centred, background window at ``background_placement``). ``augment`` (training
    only) applies its source effects to the speech before placing it and its channel effects to
    the mixture (and to both parts alike) after mixing. With ``balance`` (training only) the
    background clip is drawn by first drawing a class uniformly, then a clip of it.
    """

    def __init__(
        self,
        speech: ClipSource,
        background: ClipSource,
        split: str,
        clip_samples: int,
        rms: float,
        snr_db: tuple[float, float],
        seed: int,
        background_placement: str,
        return_parts: bool = False,
        augment: Augment | None = None,
        balance: bool = False,
    ):
        self.speech = speech
        self.background = background
        self.split = split
        self.clip_samples = clip_samples
        self.rms = rms
        self.snr_db = snr_db
        self.seed = seed
        self.train = split == "train"
        self.background_placement = "random" if self.train else background_placement
        self.return_parts = return_parts
        self.augment = augment if self.train else None
        labels = background.table.targets["background"]
        self._by_class = (
            [np.flatnonzero(labels == c) for c in np.unique(labels)]
            if balance and self.train
            else None
        )

    def __len__(self) -> int:
        return len(self.speech)

    def __getitem__(self, item: int | tuple[int, int]) -> dict:
        index, generator = resolve_item(item, self.seed, self.split)
        i, speech = self.speech.load(index)
        if self.augment is not None:
            augment_rng = augment_generator(generator)
            speech = self.augment.source(speech, self.speech.sr, augment_rng)
        speech = place(speech, self.clip_samples, "random" if self.train else "center", generator)
        if self._by_class is None:
            wanted = int(torch.randint(len(self.background), (1,), generator=generator))
        else:
            members = self._by_class[
                int(torch.randint(len(self._by_class), (1,), generator=generator))
            ]
            wanted = int(members[int(torch.randint(len(members), (1,), generator=generator))])
        j, background = self.background.load(wanted)
        background = place(background, self.clip_samples, self.background_placement, generator)
        low, high = self.snr_db
        snr = low + (high - low) * float(torch.rand((), generator=generator))
        mixture, speech_part, background_part = mix(speech, background, snr, self.rms)
        if self.augment is not None and self.return_parts:
            parts = torch.stack([mixture, speech_part, background_part])
            mixture, speech_part, background_part = self.augment.channel(
                parts, self.speech.sr, augment_rng
            )
        elif self.augment is not None:
            mixture = self.augment.channel(mixture, self.speech.sr, augment_rng)
        targets = {task: int(v[i]) for task, v in self.speech.table.targets.items()}
        targets["background"] = int(self.background.table.targets["background"][j])
        example = {"waveform": mixture, "targets": targets, "key": self.speech.table.key(i)}
        if self.return_parts:
            example |= {
                "speech": speech_part,
                "background": background_part,
                "snr_db": snr,
                "background_key": self.background.table.key(j),
            }
        return example


class WSNDataModule(AudioDataModule):
    """Word-Speaker-Noise multi-task mixtures: tasks ``"word"``, ``"speaker"``, ``"background"``.

    Each example is one speech clip (resampled to ``sr``; at a random position of the
    ``clip_samples`` clip in training, centred in val/test) plus one background clip of the same
    split (random clip and random window in training; a clip and window fixed per index in
    val/test), each demeaned and RMS-normalised, mixed at an SNR drawn uniformly from
    ``snr_db`` (see :func:`mix`: SNR over the whole clip; mixture RMS ``rms``). An epoch is one
    pass over the split's speech clips.

    Splits:

    - word: the speech source's official splits (Speech Commands: validation/testing lists, so
      val/test words are spoken by held-out speakers, whose ``speaker`` target is -100);
    - speaker (closed set): ``speaker_holdout`` of each training speaker's clips (seeded, see
      :func:`split_speaker_holdout`) are removed from training and added to val and test with
      their speaker target, so speaker accuracy is measured on unseen clips of known speakers;
    - background: the background source's own splits: NSynth train/valid/test
      (instrument-disjoint), ESC-50 folds 1–3 / 4 / 5, an audio folder's seeded stratified 80 %
      / 20 % (test = val), the background corpus's train/val/test (recording-disjoint).

    Classes: words sorted (35 for Speech Commands), speakers = training speakers sorted,
    background = the source's classes (NSynth ``background_target``: families by id or
    pitches; ESC-50 categories by target; folder names sorted; the background corpus's sound
    categories with training clips, in its canonical order).

    Args:
        speech: root of the speech source.
        background: root of the background source.
        snr_db: ``(low, high)`` SNR range in dB.
        speech_format: ``"speech_commands"``.
        background_format: ``"nsynth"``, ``"esc50"``, ``"audio_folder"`` or
            ``"backgrounds"`` (``make-corpus backgrounds``: music, human vocalisation, animal,
            engine/machine, water/weather/fire, impact/tool, explosion/gunshot, signal/alarm).
        speaker_holdout: fraction in [0, 1) of each training speaker's clips held out.
        background_target: NSynth label used as background class (``"instrument_family"`` or
            ``"pitch"``); ignored for the other formats.
        return_parts: add the scaled parts, the SNR and the background key to every batch.
        background_balance: in training, draw each background by drawing its class uniformly
            first (for unbalanced sources such as the background corpus, 77 % music).
        loader: the loader options of :class:`~.base.AudioDataModule` (rates, batch size,
            workers, seed, download, cache, augmentation), as keywords.
    """

    def __init__(
        self,
        speech: str,
        background: str,
        snr_db: Sequence[float] = (-10.0, 10.0),
        speech_format: str = "speech_commands",
        background_format: str = "nsynth",
        speaker_holdout: float = 0.1,
        background_target: str = "instrument_family",
        return_parts: bool = False,
        background_balance: bool = False,
        **loader: Any,
    ):
        super().__init__(**loader)
        snr = tuple(snr_db)
        if len(snr) != 2 or not all(isinstance(v, int | float) for v in snr) or snr[0] > snr[1]:
            raise ValueError(f"snr_db: expected (low, high) in dB with low ≤ high, got {snr_db!r}")
        if speech_format not in SPEECH_FORMATS:
            raise ValueError(
                f"speech_format: expected one of {SPEECH_FORMATS}, got {speech_format!r}"
            )
        if background_format not in BACKGROUND_FORMATS:
            raise ValueError(
                f"background_format: expected one of {BACKGROUND_FORMATS}, "
                f"got {background_format!r}"
            )
        if not 0 <= speaker_holdout < 1:
            raise ValueError(f"speaker_holdout: expected 0 ≤ fraction < 1, got {speaker_holdout!r}")
        if background_target not in TARGETS:
            raise ValueError(
                f"background_target: expected one of {TARGETS}, got {background_target!r}"
            )
        self.save_hyperparameters()
        self.speech_root = Path(speech)
        self.background_root = Path(background)
        self.snr_db = (float(snr[0]), float(snr[1]))
        self.background_format = background_format
        self.speaker_holdout = float(speaker_holdout)
        self.background_target = background_target
        self.return_parts = bool(return_parts)
        self.background_balance = bool(background_balance)

    def _cache_groups(self, splits: dict[str, ClipTable]) -> dict[str, list[ClipTable]]:
        speech = [splits[s] for s in ("train", "val", "test")]
        background = [splits[f"background-{s}"] for s in ("train", "val", "test")]
        return {"wsn-speech": speech, f"wsn-background-{self.background_format}": background}

    def _fetch(self) -> None:
        fetch_speech_commands(self.speech_root)
        if self.background_format == "nsynth":
            fetch_nsynth(self.background_root)
        elif self.background_format == "esc50":
            fetch_esc50(self.background_root)

    def _check_present(self) -> None:
        check_speech_commands(self.speech_root)
        if self.background_format == "nsynth":
            check_nsynth(self.background_root)
        elif self.background_format == "esc50":
            check_esc50(self.background_root)
        elif self.background_format == "backgrounds":
            check_background_corpus(self.background_root)
        else:
            require_paths("audio folder", self.background_root, [self.background_root], [])

    def _background(self) -> tuple[dict[str, ClipTable], list[str]]:
        if self.background_format == "nsynth":
            tables, classes = read_nsynth(self.background_root, self.background_target)
            label = self.background_target
        elif self.background_format == "esc50":
            rows, classes = read_esc50(self.background_root)
            tables = {
                split: esc50_table(self.background_root, [r for r in rows if r.fold in folds])
                for split, folds in ESC50_FOLDS.items()
            }
            label = "category"
        elif self.background_format == "backgrounds":
            tables, classes = read_background_corpus(self.background_root)
            label = "category"
        else:
            tables, classes = audio_folder_tables(self.background_root, None, 0.2, self.seed)
            label = "label"
        for split, table in tables.items():
            if len(table) == 0:
                raise ValueError(f"{self.background_root}: the background {split} split is empty")
        relabelled = {
            split: replace(table, targets={"background": table.targets[label]})
            for split, table in tables.items()
        }
        return relabelled, classes

    def _build(self) -> tuple[dict[str, ClipTable], dict[str, list[str]]]:
        official, words = scan_speech_commands(self.speech_root)
        train, val_known, test_known = split_speaker_holdout(
            official["train"], self.speaker_holdout, self.seed
        )
        speakers = sorted({c.speaker for c in train})
        speaker_index = {s: i for i, s in enumerate(speakers)}
        word_index = {w: i for i, w in enumerate(words)}

        def table(clips: list[SpeechClip]) -> ClipTable:
            return ClipTable.build(
                [c.path for c in clips],
                [c.key for c in clips],
                {
                    "word": [word_index[c.word] for c in clips],
                    "speaker": [speaker_index.get(c.speaker, IGNORE_INDEX) for c in clips],
                },
            )

        tables = {
            "train": table(train),
            "val": table(official["val"] + val_known),
            "test": table(official["test"] + test_known),
        }
        background, background_classes = self._background()
        tables |= {f"background-{split}": t for split, t in background.items()}
        tasks = {"word": words, "speaker": speakers, "background": background_classes}
        return tables, tasks

    def _make_dataset(self, split: str) -> Dataset:
        return MixtureDataset(
            self._source(self._splits[split]),
            self._source(self._splits[f"background-{split}"]),
            split,
            self.clip_samples,
            self.rms,
            self.snr_db,
            self.seed,
            BACKGROUND_PLACEMENT[self.background_format],
            self.return_parts,
            self.augment,
            self.background_balance,
        )
