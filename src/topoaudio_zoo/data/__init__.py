"""LightningDataModules of the evaluation sets and of the Word-Speaker-Noise training mixtures.

Every DataModule yields batches ``{"waveform": (batch, clip_samples) float32 at ``sr`` Hz with
RMS ``rms``, "targets": {task: (batch,) int64, -100 where missing}, "key": list[str]}`` and
exposes ``tasks`` (task → class names) and ``task_types`` after ``setup()``.
"""

from .audio_folder import AudioFolderDataModule
from .base import IGNORE_INDEX, AudioDataModule, BadAudioWarning, ClipTable
from .download import ChecksumError, DatasetNotFoundError, DownloadError, download_url
from .esc50 import ESC50DataModule, esc50_cross_validation
from .nsynth import NSynthDataModule
from .speech_commands import SpeechCommandsDataModule
from .wsn import WSNDataModule, mix

__all__ = [
    "IGNORE_INDEX",
    "AudioDataModule",
    "AudioFolderDataModule",
    "BadAudioWarning",
    "ChecksumError",
    "ClipTable",
    "DatasetNotFoundError",
    "DownloadError",
    "ESC50DataModule",
    "NSynthDataModule",
    "SpeechCommandsDataModule",
    "WSNDataModule",
    "download_url",
    "esc50_cross_validation",
    "mix",
]
