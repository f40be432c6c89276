"""Fault tolerance: a run killed mid-epoch (SIGKILL) and resumed from its last checkpoint ends
with exactly the weights of an uninterrupted run with the same seed and recipe."""

from __future__ import annotations

import json
import signal

import pytest
import torch
from corpus_fixtures import write_speech_commands
from training_helpers import fit_config, run_fit

pytestmark = pytest.mark.slow  # multi-process / multi-run end-to-end

EVERY = 4  # checkpoint every 4 optimiser steps
STEPS = 10  # one epoch: 40 training clips in batches of 4


def _recipe(speech_root, run_dir, kill_at: int | None = None) -> dict:
    callbacks = [
        {
            "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
            "init_args": {
                "dirpath": str(run_dir / "checkpoints"),
                "every_n_train_steps": EVERY,
                "save_last": True,
            },
        },
        {"class_path": "training_probes.RunRecord", "init_args": {"out_dir": str(run_dir)}},
    ]
    if kill_at is not None:
        callbacks.append(
            {"class_path": "training_probes.KillAfterStep", "init_args": {"step": kill_at}}
        )
    return fit_config(speech_root, callbacks, max_epochs=1)


def test_a_run_killed_mid_epoch_resumes_to_the_same_weights(tmp_path):
    speech_root = write_speech_commands(tmp_path / "speech_commands")
    a, b = tmp_path / "uninterrupted", tmp_path / "killed"

    result = run_fit(_recipe(speech_root, a), tmp_path / "a.yaml")
    assert result.returncode == 0, result.stderr[-4000:]

    result = run_fit(_recipe(speech_root, b, kill_at=EVERY), tmp_path / "b.yaml")
    assert result.returncode == -signal.SIGKILL, result.stderr[-4000:]
    assert not (b / "rank0.json").exists()
    last = b / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, map_location="cpu", weights_only=True)
    assert checkpoint["global_step"] == EVERY and checkpoint["epoch"] == 0
    fit_loop = checkpoint["loops"]["fit_loop"]["state_dict"]
    assert fit_loop["combined_loader"] == [{"epoch": 0, "batches": EVERY}]

    resumed = _recipe(speech_root, b)
    result = run_fit(resumed, tmp_path / "b-resumed.yaml", "--ckpt_path", str(last))
    assert result.returncode == 0, result.stderr[-4000:]

    facts_a = json.loads((a / "rank0.json").read_text())
    facts_b = json.loads((b / "rank0.json").read_text())
    assert facts_a["global_step"] == facts_b["global_step"] == STEPS
    assert len(facts_a["keys"]) == 4 * STEPS
    assert facts_b["keys"] == facts_a["keys"][4 * EVERY :]  # the rest of the same epoch
    weights_a = torch.load(a / "rank0.pt", weights_only=True)
    weights_b = torch.load(b / "rank0.pt", weights_only=True)
    assert weights_a.keys() == weights_b.keys()
    for key in weights_a:
        assert torch.equal(weights_a[key], weights_b[key]), key
