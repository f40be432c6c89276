"""``TopoAudioModule``: the LightningModule that trains a :class:`TopoAudioModel`.

Thin glue: the science lives in plain modules (cochleagram, backbone, heads, TopographicLoss);
this class adds the losses, metrics, logging and optimisation. Total loss:

    Σ_task weight_task · loss_task  +  τ · mean_layers TopoLoss_layer   (no term when τ = 0)

Batches are ``{"waveform": (batch, clip_samples), "targets": {task: ...}, "key": [...]}`` as the
DataModules of :mod:`topoaudio_zoo.data` produce them; a target of -100 is ignored.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MultilabelAveragePrecision

from ..zoo.model import TopoAudioModel
from .checks import (
    TaskSpec,
    check_architecture,
    check_checkpoint_state,
    check_data_format,
    check_tasks,
    check_topography,
    tasks_from_data,
)
from .finetune import comparable, initial_weights, load_initial_weights, merge_source_config
from .optim import build_optimizer, build_scheduler, check_optimization, layer_lr_groups
from .precision import bf16_convolution_faults, slow_bf16_warning

__all__ = ["IGNORE_INDEX", "TopoAudioModule"]

IGNORE_INDEX = -100
STAGES = ("train", "val", "test")


class TopoAudioModule(L.LightningModule):
    """Train or fine-tune a topographic auditory model.

    Args:
        architecture: registry architecture (``list_architectures()``); taken from
            ``init_from`` when omitted.
        architecture_kwargs: its keyword arguments (e.g. ``{"width": 32}``).
        tasks: ``{task: {"weight": w, "type": "multiclass"|"multilabel", "num_classes": n,
            "labels": [...]}}``. ``num_classes``/``labels`` are filled from the DataModule's
            ``tasks`` at setup when omitted; ``None`` trains every task of the data, weight 1.
        cochleagram: ``{"preset": ..., "mode": ..., "overrides": {...}}``.
        topography: ``{"tau": τ ≥ 0, "factor": φ or [φ_h, φ_w], "layers": "default"|[...]}``.
        optimizer: ``{"name": "sgd"|"adamw", "lr": ..., ...}`` (see ``optim.py``).
        scheduler: ``{"name": "step"|"cosine"|"none", ...}`` (see ``optim.py``).
        init_from: start from a zoo model (registry name, ``hf-hub:`` id or folder) or a
            Lightning checkpoint (``.ckpt``): backbone weights are loaded strictly; heads whose
            task and size match are kept, others start fresh.
        freeze_backbone: train the heads only (linear probe); batch-norm statistics frozen.
        layer_lr: learning-rate multipliers by parameter-name prefix, e.g.
            ``{"model.backbone.layer1": 0.1}`` (longest prefix wins).
        rms: input RMS level recorded in the exported model.
        name, description, training_data: recorded in the exported model's config.
        channels_last: keep the backbone's 4-D weights (and so its convolutions' activations)
            in channels-last memory order, faster for convolutions under bf16 autocast
            (``trainer.precision: bf16-mixed``); the exported model is stored in the standard
            order. Numerically the same model.
    """

    def __init__(
        self,
        architecture: str | None = None,
        architecture_kwargs: dict[str, Any] | None = None,
        tasks: dict[str, TaskSpec] | None = None,
        cochleagram: dict[str, Any] | None = None,
        topography: dict[str, Any] | None = None,
        optimizer: dict[str, Any] | None = None,
        scheduler: dict[str, Any] | None = None,
        init_from: str | None = None,
        freeze_backbone: bool = False,
        layer_lr: dict[str, float] | None = None,
        rms: float = 0.1,
        name: str = "",
        description: str = "",
        training_data: dict[str, Any] | None = None,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        if init_from is not None:
            merged = merge_source_config(
                init_from,
                architecture=architecture,
                architecture_kwargs=architecture_kwargs,
                cochleagram=cochleagram,
            )
            self.hparams.update(merged)
        if self.hparams.architecture is None:
            raise ValueError("architecture: required (or init_from a pretrained model)")
        check_architecture(self.hparams.architecture)
        check_tasks(tasks)
        check_topography(topography)
        check_optimization(optimizer, scheduler)
        self.model: TopoAudioModel | None = None
        self.topo_loss = None
        self.metrics = nn.ModuleDict()
        if tasks is not None and all("num_classes" in t or "labels" in t for t in tasks.values()):
            self._build()

    # ----------------------------------------------------------------------------- building
    def model_config(self) -> dict[str, Any]:
        """The :class:`TopoAudioModel` configuration these hyper-parameters describe."""
        hp = self.hparams
        heads = {
            task: {
                "num_classes": spec.get("num_classes", len(spec.get("labels") or [])),
                "type": spec.get("type", "multiclass"),
                "labels": spec.get("labels"),
            }
            for task, spec in (hp.tasks or {}).items()
        }
        return {
            "name": hp.name,
            "description": hp.description,
            "architecture": hp.architecture,
            "architecture_kwargs": dict(hp.architecture_kwargs or {}),
            "cochleagram": dict(hp.cochleagram or {}),
            "rms": hp.rms,
            "heads": heads,
            "topography": dict(hp.topography or {}),
            "training_data": dict(hp.training_data or {}),
        }

    def _build(self) -> None:
        self.model = TopoAudioModel(self.model_config())
        if self.hparams.channels_last:
            self.model.backbone.to(memory_format=torch.channels_last)
        self.topo_loss = self.model.topographic_loss()
        heads = self.model.config["heads"]
        self.metrics = nn.ModuleDict(
            {
                f"{stage}_metrics": nn.ModuleDict(
                    {task: MetricCollection(_task_metrics(head)) for task, head in heads.items()}
                )
                for stage in STAGES
            }
        )
        if self.hparams.init_from is not None:
            load_initial_weights(self.model, initial_weights(self.hparams.init_from))
        if self.hparams.freeze_backbone:
            for name, param in self.model.backbone.named_parameters():
                param.requires_grad = name.startswith("heads.")
            self.train(self.training)  # frozen layers in eval mode now: Lightning keeps modes

    def setup(self, stage: str) -> None:
        """Check the DataModule's clip format; fill the heads from its tasks and check them."""
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        check_data_format(self.hparams.cochleagram, self.hparams.rms, datamodule)
        data_tasks = getattr(datamodule, "tasks", None)
        data_types = getattr(datamodule, "task_types", {}) or {}
        if data_tasks is None:
            if self.model is None:
                raise ValueError(
                    "tasks: the heads' sizes are unknown: give tasks with num_classes, or a "
                    "DataModule with a `tasks` attribute"
                )
            return
        filled = tasks_from_data(self.hparams.tasks, data_tasks, data_types)
        self.hparams.tasks = filled
        heads = {
            task: {k: spec[k] for k in ("num_classes", "type", "labels")}
            for task, spec in filled.items()
        }
        if self.model is None or self.model.config["heads"] != heads:
            self._build()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse a checkpoint of another architecture or front end before any weight is
        touched (Lightning calls this before loading the state dict, and before any step)."""
        saved = checkpoint.get("hyper_parameters", {})
        for key in ("architecture", "architecture_kwargs", "cochleagram"):
            if key in saved and comparable(key, saved[key]) != comparable(key, self.hparams[key]):
                raise ValueError(
                    f"checkpoint: its {key} is {saved[key]!r} but this model's is "
                    f"{self.hparams[key]!r}; resume with the configuration it was trained with"
                )
        if self.model is None and saved.get("tasks"):
            self.hparams.tasks = saved["tasks"]
            self._build()
        if self.model is not None and "state_dict" in checkpoint:
            check_checkpoint_state(checkpoint["state_dict"], self.state_dict(), "checkpoint")

    def on_fit_start(self) -> None:
        """Warn when bf16 autocast would be emulated (slower than float32) on this CPU; refuse
        to train when this CPU's bf16 convolution is wrong for one of the model's shapes."""
        precision = str(self.trainer.precision)
        warning = slow_bf16_warning(precision, self.device)
        if warning is not None:
            rank_zero_warn(warning)
        if self.device.type == "cpu" and precision.startswith("bf16"):
            clips = 0.1 * torch.randn(2, self.model.clip_samples, generator=torch.Generator())
            with torch.no_grad():
                example = self.model.cochleagram(clips)
            faults = bf16_convolution_faults(self.model.backbone, example)
            if faults:
                raise RuntimeError(
                    f"precision={precision!r}: on this CPU (torch {torch.__version__}) bf16 "
                    f"autocast computes these convolutions wrongly: {'; '.join(faults)}. Train "
                    "with trainer.precision '32-true', or with clips long enough that no strided "
                    "convolution's output is one frame wide"
                )

    # ------------------------------------------------------------------------------- forward
    def forward(self, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        """``(batch, clip_samples)`` → ``{task: logits}``."""
        return self.model(waveform)

    def train(self, mode: bool = True) -> TopoAudioModule:
        """Set the training mode; with ``freeze_backbone`` the backbone's layers (all but the
        heads) stay in eval mode, so batch-norm statistics do not change."""
        super().train(mode)
        if self.hparams.freeze_backbone and self.model is not None:
            for child_name, child in self.model.backbone.named_children():
                if child_name != "heads":
                    child.eval()
        return self

    def _step(self, batch: dict[str, Any], stage: str) -> torch.Tensor:
        with torch.no_grad():
            cochleagram = self.model.cochleagram(batch["waveform"])
        logits = self.model.forward_cochleagram(cochleagram)
        batch_size = batch["waveform"].shape[0]
        total = cochleagram.new_zeros(())
        logs = {}
        for task, head in self.model.config["heads"].items():
            target = batch["targets"][task]
            loss = _task_loss(logits[task], target, head["type"])
            weight = float((self.hparams.tasks or {}).get(task, {}).get("weight", 1.0))
            total = total + weight * loss
            logs[f"{stage}/loss_{task}"] = loss.detach()
            metric_target = target.long() if head["type"] == "multilabel" else target
            self.metrics[f"{stage}_metrics"][task].update(logits[task].detach(), metric_target)
        logs[f"{stage}/task_loss"] = total.detach()
        if stage == "train" and self.topo_loss.enabled:
            values = self.topo_loss.layer_values()
            topo = self.topo_loss.tau * values.mean()
            total = total + topo
            logs["train/topo"] = topo.detach()
            names = self.topo_loss.layer_names
            logs.update({f"topo/{k}": v for k, v in zip(names, values.detach(), strict=True)})
        logs[f"{stage}/loss"] = total.detach()
        training = stage == "train"
        self.log_dict(
            logs, on_step=training, on_epoch=True, batch_size=batch_size, sync_dist=not training
        )
        return total

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._step(batch, "test")

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        logits = self.model(batch["waveform"])
        out: dict[str, Any] = {"key": batch.get("key")}
        for task, head in self.model.config["heads"].items():
            values = logits[task].float()
            out[task] = values.sigmoid() if head["type"] == "multilabel" else values.softmax(-1)
        return out

    def _log_metrics(self, stage: str) -> None:
        for task, collection in self.metrics[f"{stage}_metrics"].items():
            self.log_dict({f"{stage}/{task}_{k}": v for k, v in collection.compute().items()})
            collection.reset()

    def on_train_epoch_end(self) -> None:
        self._log_metrics("train")

    def on_validation_epoch_end(self) -> None:
        self._log_metrics("val")
        with torch.no_grad():
            per_layer = self.topo_loss.per_layer()
        self.log_dict({f"val/topo/{k}": v for k, v in per_layer.items()})

    def on_test_epoch_end(self) -> None:
        self._log_metrics("test")

    # ---------------------------------------------------------------------------- optimising
    def configure_optimizers(self) -> dict[str, Any]:
        base_lr = float((self.hparams.optimizer or {}).get("lr", 0.1))
        param_groups = layer_lr_groups(self.named_parameters(), self.hparams.layer_lr, base_lr)
        optimizer = build_optimizer(self.hparams.optimizer, param_groups)
        scheduler = build_scheduler(
            self.hparams.scheduler,
            optimizer,
            lambda: max(1, int(self.trainer.estimated_stepping_batches)),
        )
        if scheduler is None:
            return {"optimizer": optimizer}
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    def to_zoo_model(self, metrics: dict[str, Any] | None = None) -> TopoAudioModel:
        """The trained :class:`TopoAudioModel` (shared weights, in the standard memory order),
        with ``metrics`` recorded."""
        self.model.to(memory_format=torch.contiguous_format)
        if metrics:
            self.model.config["metrics"] = dict(metrics)
            self.model._hub_mixin_config = self.model.config
        return self.model


def _task_metrics(head: dict[str, Any]) -> dict[str, nn.Module]:
    n = head["num_classes"]
    if head["type"] == "multilabel":
        return {"map": MultilabelAveragePrecision(num_labels=n, average="macro")}
    metrics = {"top1": MulticlassAccuracy(n, top_k=1, average="micro", ignore_index=IGNORE_INDEX)}
    if n >= 5:
        metrics["top5"] = MulticlassAccuracy(n, top_k=5, average="micro", ignore_index=IGNORE_INDEX)
    return metrics


def _task_loss(logits: torch.Tensor, target: torch.Tensor, head_type: str) -> torch.Tensor:
    if head_type == "multilabel":
        return F.binary_cross_entropy_with_logits(logits.float(), target.float())
    valid = target != IGNORE_INDEX
    if not bool(valid.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits.float(), target, ignore_index=IGNORE_INDEX)
