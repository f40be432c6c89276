"""Callbacks that the DDP and resume tests put into ``topoaudio-zoo fit`` runs (subprocesses,
with this folder on ``PYTHONPATH``): they write what each process saw and ended with."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import lightning as L
import torch

from topoaudio_zoo.topography import unwrap_model


class RunRecord(L.Callback):
    """At the end of training, writes ``<out_dir>/rank<r>.pt`` (the model's state dict) and
    ``<out_dir>/rank<r>.json``: the keys of the clips this process trained on, its global
    step, how many parameters changed, the strategy's model wrapper and where the topographic
    loss's layers live."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = Path(out_dir)
        self.keys: list[str] = []

    def on_train_start(self, trainer, pl_module) -> None:
        self.initial = {n: p.detach().clone() for n, p in pl_module.named_parameters()}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.keys.extend(batch["key"])

    def on_train_end(self, trainer, pl_module) -> None:
        backbone = pl_module.model.backbone
        names = pl_module.topo_loss.layer_names
        facts = {
            "rank": trainer.global_rank,
            "world_size": trainer.world_size,
            "global_step": trainer.global_step,
            "keys": self.keys,
            "parameters_changed": sum(
                not torch.equal(self.initial[n], p) for n, p in pl_module.named_parameters()
            ),
            "wrapper": type(trainer.strategy.model).__name__,
            "unwraps_to_the_module": unwrap_model(trainer.strategy.model) is pl_module,
            "topo_layers": names,
            "default_layers": backbone.default_topographic_layers(),
        }
        if names:
            # the loss must be a function of the backbone's own weights, reached by those names
            weights = [backbone.get_submodule(name).weight for name in names]
            grads = torch.autograd.grad(pl_module.topo_loss.per_layer()[names[0]], weights[0])
            facts["topo_grad_norm"] = float(grads[0].norm())
        self.out_dir.mkdir(parents=True, exist_ok=True)
        rank = trainer.global_rank
        torch.save(pl_module.model.state_dict(), self.out_dir / f"rank{rank}.pt")
        (self.out_dir / f"rank{rank}.json").write_text(json.dumps(facts))


class KillAfterStep(L.Callback):
    """Kills its own process (SIGKILL: no clean-up, as a crash or a pre-empted node) when the
    batch after optimiser step ``step`` starts, i.e. after that step's checkpoint was saved."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)
