"""TopoAudioModule on tiny data: losses, logging, metrics, schedules, clipping, precision,
checkpoints, determinism and the errors of bad configurations."""

from __future__ import annotations

import copy
import math
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from corpus_fixtures import SC_WORDS
from training_helpers import (
    CLIP,
    COCHLEAGRAM,
    BatchCounter,
    LearningRates,
    ToyDataModule,
    quiet_trainer,
    tiny_model_kwargs,
)

from topoaudio_zoo.cli import main
from topoaudio_zoo.data import SpeechCommandsDataModule
from topoaudio_zoo.topography import TopographicLoss
from topoaudio_zoo.training import IGNORE_INDEX, TopoAudioModule, precision
from topoaudio_zoo.zoo.model import TopoAudioModel


def speech_data(root: Path, **overrides) -> SpeechCommandsDataModule:
    """40 training clips of 5 words, 0.2 s each."""
    kwargs = {"clip_samples": CLIP, "batch_size": 20, "seed": 0} | overrides
    return SpeechCommandsDataModule(str(root), **kwargs)


class FirstStep(L.Callback):
    """Keeps the weights and the batch as the first training step starts, and its output."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == 0:
            self.weights = copy.deepcopy(pl_module.model.state_dict())
            self.batch = copy.deepcopy(batch)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if batch_idx == 0:
            self.loss = outputs["loss"].detach()


def _cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    valid = target != IGNORE_INDEX
    log_p = logits.log_softmax(-1)[valid]
    return -log_p.gather(1, target[valid].unsqueeze(1)).mean()


def _binary_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return -(target * F.logsigmoid(logits) + (1 - target) * F.logsigmoid(-logits)).mean()


# ----------------------------------------------------------------------------------------------
# Losses and logging


def _first_step_logits(module, probe):
    """The model with its weights before the first step, and its logits of the first batch."""
    model = TopoAudioModel(module.model.config)
    model.load_state_dict(probe.weights)
    model.train()
    with torch.no_grad():
        return model, model(probe.batch["waveform"])


@pytest.mark.slow
def test_total_loss_is_weighted_task_losses_plus_tau_times_mean_layer_topo():
    tasks = {"pitch": {"weight": 2.0}, "tags": {"weight": 0.5}}
    module = TopoAudioModule(**tiny_model_kwargs(tasks=tasks, topography={"tau": 5.0, "factor": 2}))
    probe = FirstStep()
    trainer = quiet_trainer(max_steps=1, callbacks=[probe])
    trainer.fit(module, datamodule=ToyDataModule())

    model, logits = _first_step_logits(module, probe)
    targets = probe.batch["targets"]
    assert (targets["pitch"] == IGNORE_INDEX).any()
    pitch = _cross_entropy(logits["pitch"], targets["pitch"])
    tags = _binary_cross_entropy(logits["tags"], targets["tags"])
    per_layer = TopographicLoss(model.backbone, tau=5.0, factor=2.0).per_layer()
    topo = 5.0 * torch.stack(list(per_layer.values())).mean()
    expected = 2.0 * pitch + 0.5 * tags + topo

    logged = trainer.callback_metrics
    torch.testing.assert_close(probe.loss, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(logged["train/loss_step"], expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(logged["train/loss_pitch_step"], pitch, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(logged["train/loss_tags_step"], tags, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(logged["train/topo_step"], topo.detach(), rtol=1e-5, atol=1e-6)
    assert len(per_layer) == 19  # 2 convs in each of the 8 residual blocks, 3 shortcut convs
    for layer, value in per_layer.items():
        torch.testing.assert_close(logged[f"topo/{layer}_step"], value.detach())
    assert float(topo.detach()) > 0


def test_tau_zero_adds_no_term_and_logs_no_topography():
    calls = []

    class SpyOnTopo(L.Callback):
        def on_train_start(self, trainer, pl_module):
            layer_values = pl_module.topo_loss.layer_values
            pl_module.topo_loss.layer_values = lambda: calls.append(1) or layer_values()

    module = TopoAudioModule(**tiny_model_kwargs(topography={"tau": 0.0, "factor": 2}))
    probe = FirstStep()
    trainer = quiet_trainer(max_steps=2, callbacks=[probe, SpyOnTopo()])
    trainer.fit(module, datamodule=ToyDataModule())
    logged = trainer.callback_metrics
    assert not calls
    assert not [key for key in logged if "topo" in key]
    assert torch.equal(logged["train/loss_step"], logged["train/task_loss_step"])
    _, logits = _first_step_logits(module, probe)
    targets = probe.batch["targets"]
    expected = _cross_entropy(logits["pitch"], targets["pitch"]) + _binary_cross_entropy(
        logits["tags"], targets["tags"]
    )
    torch.testing.assert_close(probe.loss, expected, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# Metrics


def _average_precision(scores: torch.Tensor, positive: torch.Tensor) -> float:
    order = scores.argsort(descending=True)
    hits = positive[order].double()
    precision_at_hits = hits.cumsum(0) / torch.arange(1, len(hits) + 1)
    return float((precision_at_hits * hits).sum() / hits.sum())


def test_top1_top5_ignore_the_missing_targets_and_multilabel_heads_report_map():
    module = TopoAudioModule(**tiny_model_kwargs())
    data = ToyDataModule()
    (metrics,) = quiet_trainer(limit_val_batches=None).validate(module, datamodule=data)

    module.eval()
    with torch.no_grad():
        logits = [module(batch["waveform"]) for batch in data.val_dataloader()]
    pitch = torch.cat([out["pitch"] for out in logits])
    tags = torch.cat([out["tags"] for out in logits])
    target = data.val_set.pitch
    valid = target != IGNORE_INDEX
    top1 = (pitch.argmax(-1) == target)[valid].double().mean()
    in_top5 = (pitch.topk(5, dim=-1).indices == target.unsqueeze(1)).any(-1)
    top5 = in_top5[valid].double().mean()
    mean_ap = sum(_average_precision(tags[:, j], data.val_set.tags[:, j] > 0) for j in range(3))

    assert metrics["val/pitch_top1"] == pytest.approx(float(top1), abs=1e-6)
    assert metrics["val/pitch_top5"] == pytest.approx(float(top5), abs=1e-6)
    assert metrics["val/tags_map"] == pytest.approx(mean_ap / 3, abs=1e-6)
    counted_as_errors = float(in_top5.double().sum() / len(target))
    assert metrics["val/pitch_top5"] != pytest.approx(counted_as_errors, abs=1e-6)
    assert "val/loss" in metrics and "val/topo/layer1.0.conv1" in metrics


# ----------------------------------------------------------------------------------------------
# Optimisation


@pytest.mark.slow
def test_sgd_step_schedule_divides_the_lr_by_ten_every_step_size_epochs(speech_root):
    optimizer = {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4}
    scheduler = {"name": "step", "step_size": 2, "gamma": 0.1}
    module = TopoAudioModule(**tiny_model_kwargs(optimizer=optimizer, scheduler=scheduler))
    lrs = LearningRates()
    quiet_trainer(max_epochs=3, callbacks=[lrs]).fit(module, datamodule=speech_data(speech_root))
    epochs = [0, 0, 1, 1, 2, 2]  # 40 clips, batches of 20
    assert [lr for (lr,) in lrs.lrs] == pytest.approx([0.1 * 0.1 ** (e // 2) for e in epochs])
    sgd = module.trainer.optimizers[0]
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["momentum"] == 0.9
    assert sgd.defaults["weight_decay"] == 1e-4


@pytest.mark.slow
def test_adamw_with_warmup_and_cosine_decay_per_step(speech_root):
    optimizer = {"name": "adamw", "lr": 1e-3, "weight_decay": 0.05}
    scheduler = {"name": "cosine", "warmup_steps": 2, "min_lr_ratio": 0.1}
    module = TopoAudioModule(**tiny_model_kwargs(optimizer=optimizer, scheduler=scheduler))
    lrs = LearningRates()
    quiet_trainer(max_epochs=4, callbacks=[lrs]).fit(module, datamodule=speech_data(speech_root))
    total, warmup = 8, 2
    expected = [1e-3 * (s + 1) / warmup for s in range(warmup)] + [
        1e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (s - warmup) / (total - warmup))))
        for s in range(warmup, total)
    ]
    assert [lr for (lr,) in lrs.lrs] == pytest.approx(expected, rel=1e-9)
    assert isinstance(module.trainer.optimizers[0], torch.optim.AdamW)


class GradientNorms(L.Callback):
    """Gradient norm before Lightning clips it and as the optimiser used it."""

    def __init__(self) -> None:
        self.before: list[float] = []
        self.stepped: list[float] = []

    @staticmethod
    def _norm(params) -> float:
        grads = [p.grad for p in params if p.grad is not None]
        return float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])))

    def on_train_start(self, trainer, pl_module) -> None:
        params = [p for group in trainer.optimizers[0].param_groups for p in group["params"]]
        trainer.optimizers[0].register_step_post_hook(
            lambda *_: self.stepped.append(self._norm(params))
        )

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.before.append(self._norm(pl_module.parameters()))


@pytest.mark.parametrize("clip", [None, 1.0])
@pytest.mark.slow
def test_the_trainer_clips_the_gradient_norm(clip, speech_root):
    module = TopoAudioModule(**tiny_model_kwargs(tasks={"word": {"weight": 100.0}}))
    norms = GradientNorms()
    trainer = quiet_trainer(max_steps=2, gradient_clip_val=clip, callbacks=[norms])
    trainer.fit(module, datamodule=speech_data(speech_root))
    assert len(norms.before) == len(norms.stepped) == 2 and min(norms.before) > 1.0
    expected = norms.before if clip is None else [1.0, 1.0]
    assert norms.stepped == pytest.approx(expected, rel=1e-5)


def test_bf16_autocast_runs_with_the_topographic_loss_in_float32():
    seen: dict[str, set] = {"topo": set(), "logits": set(), "loss": set()}

    class Dtypes(L.Callback):
        def on_train_start(self, trainer, pl_module):
            layer_values = pl_module.topo_loss.layer_values

            def spy():
                values = layer_values()
                seen["topo"].add(values.dtype)
                return values

            pl_module.topo_loss.layer_values = spy
            pl_module.model.backbone.register_forward_hook(
                lambda _m, _i, out: seen["logits"].update(v.dtype for v in out.values())
            )

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            seen["loss"].add(outputs["loss"].dtype)
            assert torch.isfinite(outputs["loss"])

    # 0.4-s clips: at 0.2 s layer4's strided convolution is one frame wide, which oneDNN's
    # bf16 convolution gets wrong on some CPUs (the next tests)
    clip = 2 * CLIP
    cochleagram = COCHLEAGRAM | {"overrides": {"signal_size": clip}}
    module = TopoAudioModule(
        **tiny_model_kwargs(topography={"tau": 25.0, "factor": 2}, cochleagram=cochleagram)
    )
    trainer = quiet_trainer(max_steps=2, precision="bf16-mixed", callbacks=[Dtypes()])
    trainer.fit(module, datamodule=ToyDataModule(clip=clip))
    assert seen == {"topo": {torch.float32}, "logits": {torch.bfloat16}, "loss": {torch.float32}}
    assert {p.dtype for p in module.parameters()} == {torch.float32}
    assert trainer.global_step == 2


@pytest.mark.slow
def test_channels_last_trains_the_same_model_and_exports_standard_order():
    modules = {}
    for channels_last in (False, True):
        torch.manual_seed(0)
        module = TopoAudioModule(
            **tiny_model_kwargs(topography={"tau": 5.0, "factor": 2}), channels_last=channels_last
        )
        quiet_trainer(max_steps=2).fit(module, datamodule=ToyDataModule())
        modules[channels_last] = module
    convs = [p for p in modules[True].model.backbone.parameters() if p.ndim == 4]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    standard, fast = modules[False].model.state_dict(), modules[True].model.state_dict()
    assert list(fast) == list(standard)
    weights = torch.cat([standard[key].double().flatten() for key in standard])
    change = torch.cat([(fast[key].double() - standard[key].double()).flatten() for key in fast])
    # the same two steps up to summation order, which batch norm on tiny batches amplifies
    # chaotically (relative differences of 5e-7 to 1.3e-3 over seeds 0-2, an element up to 1e-2);
    # one step more moves the weights by 0.14, and a permuted layout by O(1)
    assert change.norm() / weights.norm() < 1e-2
    exported = modules[True].to_zoo_model()
    assert all(p.is_contiguous() for p in exported.parameters())


class _WrongUnderBf16(torch.nn.Conv2d):
    """A convolution that returns NaN under CPU bf16 autocast, as oneDNN's did."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x)
        return y * float("nan") if torch.is_autocast_enabled("cpu") else y


def test_bf16_convolution_faults_names_each_wrong_convolution_and_changes_nothing():
    torch.manual_seed(0)
    network = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1),
        torch.nn.BatchNorm2d(8),
        _WrongUnderBf16(8, 16, 3, stride=2, padding=1),
    )
    example = torch.randn(2, 1, 24, 40)
    before = copy.deepcopy(network.state_dict())
    faults = precision.bf16_convolution_faults(network, example)
    assert len(faults) == 1 and faults[0].startswith("2 (input (2, 8, 24, 40), stride (2, 2))")
    assert network.training and network[1].training  # modes restored
    for key, value in network.state_dict().items():  # batch-norm statistics untouched
        assert torch.equal(value, before[key]), key
    network[2].__class__ = torch.nn.Conv2d
    assert precision.bf16_convolution_faults(network, example) == []


def test_bf16_training_stops_before_the_first_step_when_a_convolution_is_wrong(monkeypatch):
    monkeypatch.setattr(
        "topoaudio_zoo.training.module.bf16_convolution_faults",
        lambda network, example: ["layer4.0.conv1 (input (2, 16, 14, 2), stride (2, 2))"],
    )
    module = TopoAudioModule(**tiny_model_kwargs())
    batches = BatchCounter()
    trainer = quiet_trainer(max_steps=2, precision="bf16-mixed", callbacks=[batches])
    with pytest.raises(RuntimeError, match=r"bf16-mixed.*layer4\.0\.conv1.*'32-true'"):
        trainer.fit(module, datamodule=ToyDataModule())
    assert batches.batches == 0 and trainer.global_step == 0
    quiet_trainer(max_steps=1, callbacks=[batches]).fit(module, datamodule=ToyDataModule())
    assert batches.batches == 1  # float32 training is not checked


def test_bf16_on_a_cpu_without_native_bf16_is_warned_about(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(precision, "bf16_is_native", lambda: False)
    assert "slower than float32" in precision.slow_bf16_warning("bf16-mixed", cpu)
    assert precision.slow_bf16_warning("32-true", cpu) is None
    assert precision.slow_bf16_warning("bf16-mixed", cuda) is None
    monkeypatch.setattr(precision, "bf16_is_native", lambda: True)
    assert precision.slow_bf16_warning("bf16-mixed", cpu) is None


# ----------------------------------------------------------------------------------------------
# Checkpoints and determinism


@pytest.mark.slow
def test_checkpoint_holds_plain_values_and_rebuilds_the_model(speech_root, tmp_path):
    module = TopoAudioModule(**tiny_model_kwargs(topography={"tau": 5.0, "factor": 2}))
    assert module.model is None  # heads sized from the data at setup
    trainer = quiet_trainer(max_steps=2)
    trainer.fit(module, datamodule=speech_data(speech_root))
    path = tmp_path / "tiny.ckpt"
    trainer.save_checkpoint(path)

    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    assert checkpoint["hyper_parameters"]["tasks"]["word"]["labels"] == SC_WORDS
    assert checkpoint["hyper_parameters"]["topography"] == {"tau": 5.0, "factor": 2}
    restored = TopoAudioModule.load_from_checkpoint(path)
    assert restored.model.config["heads"] == module.model.config["heads"]
    trained, loaded = module.model.state_dict(), restored.model.state_dict()
    assert trained.keys() == loaded.keys()
    assert all(torch.equal(trained[k], loaded[k]) for k in trained)
    assert restored.topo_loss.tau == 5.0


def _seeded_weights(seed: int, root: Path) -> dict[str, torch.Tensor]:
    L.seed_everything(seed)
    module = TopoAudioModule(**tiny_model_kwargs(topography={"tau": 5.0, "factor": 2}))
    quiet_trainer(max_steps=3, deterministic=True).fit(
        module, datamodule=speech_data(root, batch_size=10, seed=seed)
    )
    return module.model.state_dict()


@pytest.mark.slow
def test_seeded_runs_are_reproducible_on_cpu(speech_root):
    first, second, other = (_seeded_weights(s, speech_root) for s in (0, 0, 1))
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


# ----------------------------------------------------------------------------------------------
# Bad input: clear errors, before any training step


def _fails_before_any_step(module, data, match: str, **fit_kwargs) -> None:
    counter = BatchCounter()
    with pytest.raises(ValueError, match=match):
        quiet_trainer(max_steps=2, callbacks=[counter]).fit(module, datamodule=data, **fit_kwargs)
    assert counter.batches == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"architecture": "cochresnet19"}, r"architecture: unknown 'cochresnet19'.*cochresnet18"),
        ({"topography": {"tau": -1.0}}, r"topography.tau: expected a finite τ ≥ 0.*-1.0"),
        ({"tasks": {"word": {"wieght": 1.0}}}, r"tasks.word: unknown field\(s\) \['wieght'\]"),
        ({"tasks": {"word": {"weight": -2}}}, r"tasks.word.weight: expected a finite number ≥ 0"),
        ({"tasks": {"word": {"type": "regression"}}}, r"tasks.word.type: expected one of"),
        ({"optimizer": {"name": "lamb"}}, r"optimizer.name: unknown 'lamb'"),
    ],
)
def test_bad_model_arguments_fail_when_the_module_is_built(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TopoAudioModule(**tiny_model_kwargs(**kwargs))


@pytest.mark.parametrize(
    ("tasks", "match"),
    [
        ({"genre": {}}, r"tasks: \['genre'\] are not targets of the data; it provides \['word'\]"),
        ({"word": {"num_classes": 7}}, r"tasks.word.num_classes: 7 does not match the data \(5"),
        ({"word": {"type": "multilabel"}}, r"tasks.word.type: multilabel but the data is multic"),
        ({"word": {"labels": ["a", "b", "c", "d", "e"]}}, r"tasks.word.labels: differ"),
    ],
)
def test_heads_that_do_not_match_the_data_fail_before_any_step(tasks, match, speech_root):
    module = TopoAudioModule(**tiny_model_kwargs(tasks=tasks))
    _fails_before_any_step(module, speech_data(speech_root), match)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"clip_samples": 2 * CLIP}, r"data.clip_samples: the DataModule gives 8000 .* 4000"),
        ({"sr": 16000}, r"data.sr: the DataModule gives 16000 but the model expects 20000"),
        ({"rms": 0.05}, r"data.rms: the DataModule gives 0.05 but the model expects 0.1"),
    ],
)
def test_clips_of_another_format_than_the_cochleagram_fail_at_setup(data, match, speech_root):
    module = TopoAudioModule(**tiny_model_kwargs())
    _fails_before_any_step(module, speech_data(speech_root, **data), match)


@pytest.fixture(scope="module")
def tiny_checkpoint(speech_root, tmp_path_factory) -> Path:
    """A 1-step checkpoint of the tiny CochResNet18 (width 4) on the word task."""
    module = TopoAudioModule(**tiny_model_kwargs())
    trainer = quiet_trainer(max_steps=1)
    trainer.fit(module, datamodule=speech_data(speech_root))
    path = tmp_path_factory.mktemp("checkpoints") / "cochresnet18w4.ckpt"
    trainer.save_checkpoint(path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"architecture": "cochresnet50"}, r"checkpoint: its architecture is 'cochresnet18'"),
        ({"architecture_kwargs": {"width": 8}}, r"checkpoint: its architecture_kwargs is \{'wid"),
        (
            {"cochleagram": {"overrides": {"signal_size": CLIP, "n": 40}}},
            r"checkpoint: its cochleagram is",
        ),
    ],
)
def test_resuming_from_another_architecture_fails_before_any_step(
    kwargs, match, tiny_checkpoint, speech_root
):
    module = TopoAudioModule(**tiny_model_kwargs(**kwargs))
    _fails_before_any_step(module, speech_data(speech_root), match, ckpt_path=tiny_checkpoint)


def test_resuming_with_other_heads_fails_before_any_step(tiny_checkpoint, speech_root):
    tasks = {"word": {"num_classes": 5}, "speaker": {"num_classes": 4}}
    module = TopoAudioModule(**tiny_model_kwargs(tasks=tasks))
    match = r"checkpoint: its weights do not fit this model \(missing \['model.backbone.heads.sp"
    with pytest.raises(ValueError, match=match):
        module.on_load_checkpoint(torch.load(tiny_checkpoint, weights_only=True))


def test_init_from_a_checkpoint_of_another_architecture_fails_at_once(tiny_checkpoint):
    with pytest.raises(ValueError, match=r"init_from: .* has architecture='cochresnet18', but"):
        TopoAudioModule(
            **tiny_model_kwargs(architecture="cochresnet50"), init_from=str(tiny_checkpoint)
        )
    with pytest.raises(ValueError, match=r"has architecture_kwargs=\{'width': 4\}, but"):
        TopoAudioModule(
            **tiny_model_kwargs(architecture_kwargs={"width": 8}), init_from=str(tiny_checkpoint)
        )


def test_a_config_naming_an_unknown_dataset_class_fails_to_parse(tmp_path, capsys, monkeypatch):
    config = tmp_path / "bad.yaml"
    config.write_text(
        "model: {architecture: cochresnet18}\n"
        "data: {class_path: topoaudio_zoo.data.NoSuchDataModule, init_args: {root: x}}\n"
    )
    monkeypatch.setattr(sys, "argv", ["topoaudio-zoo"])  # LightningCLI reads args, not argv
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(config)])
    assert exit_info.value.code != 0
    assert "'topoaudio_zoo.data' has no attribute 'NoSuchDataModule'" in capsys.readouterr().err
