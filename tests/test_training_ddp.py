"""Real two-process DDP on CPU (gloo) through ``topoaudio-zoo fit``: ranks end with identical
weights, the strategy wraps the module in DistributedDataParallel, the topographic loss works
on the unwrapped backbone, and each rank trains on its own shard of the data."""

from __future__ import annotations

import json

import pytest
import torch
from corpus_fixtures import write_speech_commands
from training_helpers import fit_config, run_fit

pytestmark = pytest.mark.slow  # multi-process / multi-run end-to-end

STEPS = 3
BATCH = 4


def test_two_process_ddp_on_cpu_keeps_ranks_identical(tmp_path):
    speech_root = write_speech_commands(tmp_path / "speech_commands")
    out = tmp_path / "ranks"
    record = {"class_path": "training_probes.RunRecord", "init_args": {"out_dir": str(out)}}
    config = fit_config(speech_root, [record], max_steps=STEPS, enable_checkpointing=False)
    result = run_fit(
        config,
        tmp_path / "ddp.yaml",
        "--trainer.accelerator=cpu",
        "--trainer.devices=2",
        "--trainer.strategy=ddp",
    )
    assert result.returncode == 0, result.stderr[-4000:]

    facts = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    weights = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    for rank, fact in enumerate(facts):
        assert fact["rank"] == rank and fact["world_size"] == 2
        assert fact["global_step"] == STEPS and fact["parameters_changed"] > 20
        assert fact["wrapper"] == "DistributedDataParallel"
        assert fact["unwraps_to_the_module"]
        assert fact["topo_layers"] == fact["default_layers"]
        assert not any(name.startswith("module.") for name in fact["topo_layers"])
        assert fact["topo_grad_norm"] > 0
    shards = [set(fact["keys"]) for fact in facts]
    assert len(shards[0]) == len(shards[1]) == STEPS * BATCH
    assert not shards[0] & shards[1]

    # Parameters: bitwise equal (gradients all-reduced, topographic term included). Batch-norm
    # statistics are per rank; DDP broadcasts rank 0's at every forward and rank 0 saves them.
    parameters = [key for key in weights[0] if "running_" not in key and "num_batches" not in key]
    assert len(parameters) == 62  # 20 convs, 20 batch norms (weight, bias), the word head (2)
    for key in parameters:
        assert torch.equal(weights[0][key], weights[1][key]), key
