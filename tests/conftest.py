"""Shared fixtures: one intra-op thread, and tiny corpora written in the real on-disk layouts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from corpus_fixtures import write_esc50, write_nsynth, write_speech_commands


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Tiny tensors on shared cores: one intra-op thread avoids oversubscription stalls."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def speech_root(tmp_path_factory) -> Path:
    """Speech Commands layout (see :func:`corpus_fixtures.write_speech_commands`); read-only."""
    return write_speech_commands(tmp_path_factory.mktemp("speech_commands"))


@pytest.fixture(scope="session")
def nsynth_root(tmp_path_factory) -> Path:
    """NSynth jsonwav layout (see :func:`corpus_fixtures.write_nsynth`); read-only."""
    return write_nsynth(tmp_path_factory.mktemp("nsynth"))


@pytest.fixture(scope="session")
def esc50_root(tmp_path_factory) -> Path:
    """ESC-50 layout (see :func:`corpus_fixtures.write_esc50`); read-only."""
    return write_esc50(tmp_path_factory.mktemp("esc50"))
