"""Backbones: registry, published layouts, heads, read-outs and hooks."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from topoaudio_zoo import create_backbone, list_architectures
from topoaudio_zoo.backbones import Backbone
from topoaudio_zoo.backbones.cochcnn9 import SameAvgPool2d, SameConv2d, SameMaxPool2d

SMALL = {
    "cochresnet18": {"width": 16},
    "cochresnet50": {"width": 16},
    "cochcnn9": {"adaptive_pool": True},
    "ast_coch": {"depth": 2, "embed_dim": 32, "num_heads": 4, "input_size": [64, 96]},
}
# cochcnn9 keeps its full 211 × 390 input and takes seconds a test: slow.
ARCHS = [pytest.param(n, marks=pytest.mark.slow) if n == "cochcnn9" else n for n in SMALL]
SMALL_INPUT = {"ast_coch": (64, 96)}
READOUTS = {
    "cochresnet18": [
        "conv1_relu1", "maxpool1", "layer1", "layer2", "layer3", "layer4", "avgpool"
    ],
    "cochcnn9": [
        "relu0", "maxpool0", "relu1", "maxpool1", "relu2", "relu3", "relu4", "avgpool",
        "relufc",
    ],
    "ast_coch": ["block0", "block1"],
}  # fmt: skip
READOUTS["cochresnet50"] = READOUTS["cochresnet18"]


def small(name: str, heads=None) -> Backbone:
    torch.manual_seed(0)
    return create_backbone(name, heads=heads, **SMALL[name]).eval()


def small_input(name: str, batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, *SMALL_INPUT.get(name, (48, 80)))


def test_registry_lists_every_architecture():
    assert list_architectures() == ["ast_coch", "cochcnn9", "cochresnet18", "cochresnet50"]


def test_unknown_architecture_lists_known_names_and_closest_match():
    with pytest.raises(ValueError, match="cochresnet50") as error:
        create_backbone("cochresnet5")
    message = str(error.value)
    assert all(name in message for name in list_architectures())
    assert "Did you mean 'cochresnet50'" in message


def test_unknown_option_names_the_valid_options():
    with pytest.raises(ValueError, match="options are: width"):
        create_backbone("cochresnet18", depth=3)


@pytest.mark.parametrize("width", [0, -16, 2.5, True])
def test_bad_width_is_rejected(width):
    with pytest.raises(ValueError, match="width"):
        create_backbone("cochresnet18", width=width)


@pytest.mark.parametrize("heads", [0, -3, True, {"word": 0}, {"a.b": 3}, {"": 2}, [3]])
def test_bad_heads_are_rejected(heads):
    with pytest.raises(ValueError, match="heads"):
        create_backbone("cochresnet18", heads=heads, width=8)


def _trunk_parameters(model: nn.Module) -> int:
    return sum(p.numel() for name, p in model.named_parameters() if not name.startswith("heads"))


@pytest.mark.slow
def test_cochresnet50_is_the_published_layout():
    model = create_backbone("cochresnet50", heads={"word": 794, "speaker": 433}).eval()
    # torchvision's resnet50 has 25,557,032 parameters: minus its 1000-way fc (2,049,000) and
    # two of conv1's three input channels (2·64·7·7 = 6,272).
    assert _trunk_parameters(model) == 25_557_032 - 2_049_000 - 6_272
    conv1 = model.conv1
    assert (conv1.in_channels, conv1.out_channels) == (1, 64)
    assert (conv1.kernel_size, conv1.stride, conv1.padding) == ((7, 7), (2, 2), (3, 3))
    assert (model.maxpool.kernel_size, model.maxpool.stride, model.maxpool.padding) == (3, 2, 1)
    assert [len(getattr(model, f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]
    assert model.num_features == 2048
    with torch.no_grad():
        acts = model.forward_readouts(torch.randn(1, 211, 390), READOUTS["cochresnet50"])
    shapes = {name: tuple(act.shape[1:]) for name, act in acts.items()}
    assert shapes == {
        "conv1_relu1": (64, 106, 195),
        "maxpool1": (64, 53, 98),
        "layer1": (256, 53, 98),
        "layer2": (512, 27, 49),
        "layer3": (1024, 14, 25),
        "layer4": (2048, 7, 13),
        "avgpool": (2048, 1, 1),
    }


def test_cochresnet18_matches_torchvision_resnet18_size():
    model = create_backbone("cochresnet18")
    # torchvision's resnet18: 11,689,512 parameters, fc 513,000, conv1 3·64·7·7.
    assert _trunk_parameters(model) == 11_689_512 - 513_000 - 2 * 64 * 49
    assert [len(getattr(model, f"layer{i}")) for i in range(1, 5)] == [2, 2, 2, 2]
    assert model.num_features == 512


@pytest.mark.parametrize(("name", "width", "features"), [
    ("cochresnet18", 16, 128), ("cochresnet18", 32, 256), ("cochresnet50", 16, 512),
])  # fmt: skip
def test_width_scales_every_stage(name, width, features):
    model = create_backbone(name, width=width)
    expansion = 4 if name == "cochresnet50" else 1
    assert model.conv1.out_channels == width
    for index in range(4):
        last_block = getattr(model, f"layer{index + 1}")[-1]
        assert last_block.bn1.num_features == width * 2**index
        assert last_block.relu1 is not None
    assert model.num_features == features == 8 * width * expansion


def test_resnet_initialisation_follows_torchvision():
    model = create_backbone("cochresnet18", width=32)
    conv = model.layer4[0].conv2  # 256 → 256, 3×3: fan_out = 256·9
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (256 * 9)), rel=0.02)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            assert torch.all(module.weight == 1) and torch.all(module.bias == 0)


@pytest.mark.parametrize("name", ARCHS)
def test_heads_and_output_types(name):
    model, x = small(name), small_input(name)
    with torch.no_grad():
        features = model(x)
        assert features.shape == (2, model.num_features)
        assert torch.equal(model.forward_head(model.forward_features(x), pre_logits=True), features)
        model.reset_heads({})
        assert torch.equal(model(x), features)
        model.reset_heads(7)
        logits = model(x)
        assert isinstance(logits, torch.Tensor) and logits.shape == (2, 7)
        model.reset_heads({"word": 794, "speaker": 433, "background": 517})
        out = model(x)
    assert {task: tuple(v.shape) for task, v in out.items()} == {
        "word": (2, 794),
        "speaker": (2, 433),
        "background": (2, 517),
    }


@pytest.mark.parametrize("name", ARCHS)
def test_channel_axis_is_optional(name):
    model, x = small(name, heads=3), small_input(name)
    with torch.no_grad():
        assert torch.equal(model(x), model(x.unsqueeze(1)))
        assert torch.equal(model.forward_features(x), model.forward_features(x.unsqueeze(1)))


@pytest.mark.parametrize("shape", [(2, 3, 48, 80), (48, 80), (2, 1, 1, 48, 80)])
def test_bad_input_shape_is_rejected(shape):
    with pytest.raises(ValueError, match=r"\(batch, freq, time\)"):
        small("cochresnet18")(torch.randn(shape))


def test_reset_heads_replaces_tasks_and_output_type():
    model = small("cochresnet18", heads={"word": 794})
    trunk = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("heads")}
    model.reset_heads({"genre": 10, "instrument": 11})
    assert model.head_sizes == {"genre": 10, "instrument": 11}
    assert set(model(small_input("cochresnet18"))) == {"genre", "instrument"}
    model.reset_heads(5)
    assert model.head_sizes == {"logits": 5} and model.heads_config == 5
    assert model(small_input("cochresnet18")).shape == (2, 5)
    model.reset_heads(None)
    assert model.head_sizes == {} and model.heads_config is None
    for key, value in trunk.items():
        assert torch.equal(model.state_dict()[key], value)


@pytest.mark.parametrize("heads", [None, 12, {"word": 794, "speaker": 433}])
@pytest.mark.parametrize("name", ARCHS)
def test_rebuild_from_arch_name_and_kwargs(name, heads):
    model = small(name, heads=heads)
    config = json.loads(json.dumps({"arch": model.arch_name, "kwargs": model.arch_kwargs}))
    assert config["arch"] == name
    rebuilt = create_backbone(config["arch"], heads=model.heads_config, **config["kwargs"])
    rebuilt.load_state_dict(model.state_dict())
    rebuilt.eval()
    x = small_input(name)
    with torch.no_grad():
        expected, actual = model(x), rebuilt(x)
    if isinstance(expected, dict):
        assert expected.keys() == actual.keys()
        expected, actual = (
            torch.cat(list(expected.values()), 1),
            torch.cat(list(actual.values()), 1),
        )
    assert torch.equal(expected, actual)


@pytest.mark.slow
def test_arch_kwargs_hold_defaults():
    assert create_backbone("cochresnet50").arch_kwargs == {"width": 64}
    assert create_backbone("cochcnn9").arch_kwargs == {"adaptive_pool": False, "dropout": 0.5}
    model = create_backbone("ast_coch", depth=1, embed_dim=32, num_heads=2)
    assert model.arch_kwargs["input_size"] == [211, 390]
    assert model.arch_kwargs["patch_stride"] is None


@pytest.mark.parametrize("name", ARCHS)
def test_readout_names(name):
    model = small(name, heads={"word": 794, "speaker": 433})
    assert list(model.readout_layers) == [*READOUTS[name], "final_word", "final_speaker"]
    model.reset_heads(5)
    assert model.readout_layers["final"] == model.readout_layers["final_logits"] == "heads.logits"
    model.reset_heads(None)
    assert list(model.readout_layers) == READOUTS[name]


@pytest.mark.parametrize("name", ARCHS)
def test_each_readout_is_one_module_whose_hook_fires_once(name):
    model, x = small(name, heads={"word": 5, "speaker": 4}), small_input(name)
    calls: dict[str, list[torch.Tensor]] = {}
    for readout, path in model.readout_layers.items():
        module = model.get_submodule(path)
        module.register_forward_hook(
            lambda _m, _i, out, r=readout: calls.setdefault(r, []).append(out)
        )
    with torch.no_grad():
        logits = model(x)
        acts = model.forward_readouts(x, list(model.readout_layers))
    assert all(len(outputs) == 2 for outputs in calls.values())  # one per forward pass
    assert set(calls) == set(model.readout_layers)
    for readout, outputs in calls.items():
        assert torch.equal(outputs[0], acts[readout])
    assert torch.equal(acts["final_word"], logits["word"])
    assert torch.equal(acts["final_speaker"], logits["speaker"])


def test_readout_units_axis():
    model = small("ast_coch")
    with torch.no_grad():
        tokens = model.forward_readouts(small_input("ast_coch"), ["block1"])["block1"]
    assert tokens.shape == (2, 1 + 4 * 6, 32)  # CLS + (64/16)·(96/16) patches, units last
    resnet = small("cochresnet18")
    with torch.no_grad():
        maps = resnet.forward_readouts(small_input("cochresnet18"), ["layer2"])["layer2"]
    assert maps.shape[1] == 32  # channels (units) along dim 1


def test_forward_readouts_accepts_module_paths():
    model, x = small("cochresnet18"), small_input("cochresnet18")
    with torch.no_grad():
        acts = model.forward_readouts(x, ["layer1.1", "layer2.1.conv2", "layer1"])
        stem = model.maxpool(model.relu(model.bn1(model.conv1(x.unsqueeze(1)))))
        block0 = model.layer1[0](stem)
        block1 = model.layer1[1](block0)
        conv = model.layer2[1].conv2(
            model.layer2[1].relu1(
                model.layer2[1].bn1(model.layer2[1].conv1(model.layer2[0](block1)))
            )
        )
    assert torch.equal(acts["layer1.1"], block1)
    assert torch.equal(acts["layer1"], block1)
    assert torch.equal(acts["layer2.1.conv2"], conv)


def test_forward_readouts_rejects_unknown_layers():
    model = small("cochresnet18")
    with pytest.raises(ValueError, match="conv1_relu1, maxpool1, layer1"):
        model.forward_readouts(small_input("cochresnet18"), ["layer5"])
    with pytest.raises(ValueError, match="no output"):
        model.forward_readouts(small_input("cochresnet18"), ["heads"])


def test_forward_readouts_keeps_the_graph():
    model, x = small("cochresnet18"), small_input("cochresnet18").requires_grad_()
    act = model.forward_readouts(x, ["layer2"])["layer2"]
    act.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_default_topographic_layers_resnets():
    r18 = create_backbone("cochresnet18", width=32)
    r50 = create_backbone("cochresnet50")
    layers18, layers50 = r18.default_topographic_layers(), r50.default_topographic_layers()
    assert len(layers18) == 8 * 2 + 3  # two convs per BasicBlock + 3 shortcut projections
    assert len(layers50) == 16 * 3 + 4  # three convs per Bottleneck + 4 shortcut projections
    assert layers18[:3] == ["layer1.0.conv1", "layer1.0.conv2", "layer1.1.conv1"]
    assert "layer2.0.downsample.0" in layers18 and "layer1.0.downsample.0" in layers50
    for model, layers in ((r18, layers18), (r50, layers50)):
        convs = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
        assert layers == [name for name in convs if name != "conv1"]


@pytest.mark.slow
def test_default_topographic_layers_cochcnn9_and_ast():
    assert small("cochcnn9").default_topographic_layers() == [f"conv{i}" for i in range(5)]
    model = create_backbone("ast_coch", depth=3, embed_dim=32, num_heads=2, heads=10)
    layers = model.default_topographic_layers()
    assert layers == ["blocks.0.mlp.fc1", "blocks.1.mlp.fc1", "blocks.2.mlp.fc1"]
    assert all(model.get_submodule(name).out_features == 128 for name in layers)


@pytest.mark.slow
def test_cochcnn9_published_layout():
    model = create_backbone("cochcnn9", heads={"word": 794}).eval()
    convs = [model.get_submodule(f"conv{i}") for i in range(5)]
    assert all(conv.bias is None for conv in convs)
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (1, 96, (7, 14), (3, 3)),
        (96, 256, (4, 8), (2, 2)),
        (256, 512, (2, 5), (1, 1)),
        (512, 1024, (2, 5), (1, 1)),
        (1024, 512, (2, 5), (1, 1)),
    ]
    assert model.fullyconnected.in_features == 512 * 5 * 9
    assert torch.allclose(model.batchnorm0.weight, torch.tensor([0.618]))
    assert torch.allclose(model.batchnorm0.bias, torch.tensor([-2.0971]))
    with torch.no_grad():
        acts = model.forward_readouts(torch.randn(1, 211, 390), READOUTS["cochcnn9"])
    assert {name: tuple(a.shape[1:]) for name, a in acts.items()} == {
        "relu0": (96, 71, 130),
        "maxpool0": (96, 36, 65),
        "relu1": (256, 18, 33),
        "maxpool1": (256, 9, 17),
        "relu2": (512, 9, 17),
        "relu3": (1024, 9, 17),
        "relu4": (512, 9, 17),
        "avgpool": (512, 5, 9),
        "relufc": (4096,),
    }


@pytest.mark.slow
def test_cochcnn9_fixed_input_and_adaptive_option():
    fixed = create_backbone("cochcnn9", heads=4).eval()
    with pytest.raises(ValueError, match="adaptive_pool=True"):
        fixed(torch.randn(1, 211, 200))
    adaptive = create_backbone("cochcnn9", heads=4, adaptive_pool=True).eval()
    adaptive.load_state_dict(fixed.state_dict())
    x = torch.randn(1, 211, 390)
    with torch.no_grad():
        assert torch.equal(adaptive(x), fixed(x))
        assert adaptive(torch.randn(1, 211, 200)).shape == (1, 4)


def test_same_conv_pads_like_tensorflow():
    conv = SameConv2d(1, 2, (7, 14), stride=3)
    x = torch.randn(1, 1, 211, 390)
    # TF "same": out = ceil(n / s); total pad = (out − 1)·s + k − n, smaller half first.
    # freq: out 71, pad 70·3 + 7 − 211 = 6 → (3, 3); time: out 130, pad 129·3 + 14 − 390 = 11.
    expected = F.conv2d(F.pad(x, (5, 6, 3, 3)), conv.weight, stride=3)
    assert torch.allclose(conv(x), expected, atol=1e-5)


def test_same_pools_pad_like_tensorflow():
    x = -1 - torch.rand(1, 1, 9, 17)
    pooled = SameMaxPool2d((2, 5), stride=2)(x)
    assert pooled.shape[-2:] == (5, 9) and torch.all(pooled < -1)  # padding never wins
    averaged = SameAvgPool2d((2, 5), stride=2)(torch.ones(1, 1, 9, 17))
    # pads: freq (0, 1), time (2, 2); padded zeros count in the mean.
    assert averaged[0, 0, 0, 0].item() == pytest.approx(3 / 5)
    assert averaged[0, 0, -1, 1].item() == pytest.approx(1 / 2)
    assert averaged[0, 0, 1, 1].item() == pytest.approx(1.0)


@pytest.mark.slow
def test_ast_default_is_vit_base():
    model = create_backbone("ast_coch", heads=10)
    assert len(model.blocks) == 12 and model.num_features == 768
    assert model.blocks[0].attn.num_heads == 12
    assert model.blocks[0].mlp.fc1.out_features == 3072
    assert model.patch_embed.kernel_size == model.patch_embed.stride == (16, 16)
    assert model.pos_embed.shape == (1, 1 + 13 * 24, 768)  # (211−16)//16+1 × (390−16)//16+1


def test_ast_overlapping_patches_and_input_size():
    model = create_backbone(
        "ast_coch", heads=3, depth=1, embed_dim=32, num_heads=2, patch_stride=10
    ).eval()
    assert model.pos_embed.shape[1] == 1 + 20 * 38
    with torch.no_grad():
        tokens = model.forward_readouts(torch.randn(1, 211, 390), ["block0"])["block0"]
        assert tokens.shape == (1, 1 + 20 * 38, 32)
    with pytest.raises(ValueError, match="input_size"):
        model(torch.randn(1, 211, 300))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"embed_dim": 30, "num_heads": 4}, "divisible"),
    ({"input_size": [8, 100]}, "patch_size"),
    ({"depth": 0}, "depth"),
    ({"input_size": 211}, "input_size"),
])  # fmt: skip
def test_ast_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        create_backbone("ast_coch", **kwargs)
