"""CochResNet: torchvision's ResNet layout on a one-channel cochleagram.

``cochresnet50`` is the published CochResNet50 (Feather et al.; Tuckute et al.; the TopoAudio
backbone): ``conv1`` 1→64, 7×7, stride 2, padding 3, BN, ReLU, max-pool 3/2/1, Bottleneck
stages [3, 4, 6, 3] with 256/512/1024/2048 output channels, global average pool, linear heads.
For a 211×390 cochleagram the maps are 106×195 (conv1), 53×98 (max-pool, layer1), 27×49
(layer2), 14×25 (layer3), 7×13 (layer4). ``cochresnet18`` uses BasicBlock stages [2, 2, 2, 2].

``width`` is the base width (channels of conv1 and layer1's inner convs, 64 as published);
every channel count scales with it, so 16 and 32 give narrow networks that train on a CPU.

The parameter names follow torchvision (``conv1``, ``bn1``, ``layerN.i.convK``,
``layerN.i.downsample.0``); each ReLU is its own module (``relu`` in the stem, ``reluK`` in the
blocks) so that a forward hook on any of them fires once per forward pass.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import Backbone, as_image
from .heads import HeadsSpec
from .registry import register_architecture

__all__ = ["BasicBlock", "Bottleneck", "CochResNet", "cochresnet18", "cochresnet50"]


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def _conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convs with a residual connection (ResNet-18/34). Output ``planes`` channels."""

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_channels, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _downsample(in_channels, planes * self.expansion, stride)
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu2(out + identity)


class Bottleneck(nn.Module):
    """1×1 → 3×3 (strided, torchvision's "v1.5") → 1×1 convs with a residual connection.

    Output ``4 · planes`` channels.
    """

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv1x1(in_channels, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU()
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.downsample = _downsample(in_channels, planes * self.expansion, stride)
        self.relu3 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu3(out + identity)


def _downsample(in_channels: int, out_channels: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(_conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


_STAGES = {
    "conv1_relu1": "relu",
    "maxpool1": "maxpool",
    "layer1": "layer1",
    "layer2": "layer2",
    "layer3": "layer3",
    "layer4": "layer4",
    "avgpool": "avgpool",
}


class CochResNet(Backbone):
    """ResNet on a cochleagram ``(batch, freq, time)``; any input size (global pooling).

    Read-outs: ``conv1_relu1`` ``(B, w, F/2, T/2)``, ``maxpool1``, ``layer1``…``layer4``
    ``(B, C, f, t)``, ``avgpool`` ``(B, 8·w·expansion, 1, 1)``, ``final`` (head logits).
    ``num_features = 8 · width · block.expansion`` (2048 for the published CochResNet50).
    """

    def __init__(
        self,
        block: type[BasicBlock | Bottleneck],
        blocks_per_stage: list[int],
        width: int = 64,
        heads: HeadsSpec = None,
    ) -> None:
        super().__init__()
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive int (64 as published), got {width!r}")
        self.conv1 = nn.Conv2d(1, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_channels = width
        for index, n_blocks in enumerate(blocks_per_stage):
            planes = width * 2**index
            stride = 1 if index == 0 else 2
            stage = []
            for block_index in range(n_blocks):
                stage.append(block(in_channels, planes, stride if block_index == 0 else 1))
                in_channels = planes * block.expansion
            self.add_module(f"layer{index + 1}", nn.Sequential(*stage))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.num_features = in_channels
        self._stage_paths = dict(_STAGES)
        self._init_weights()
        self.reset_heads(heads)

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    feature_stages = ("conv1_relu1", "layer1", "layer2", "layer3", "layer4")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``layer4``'s map ``(batch, 8·w·expansion, f, t)`` of a cochleagram batch."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(as_image(x)))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward_head(
        self, x: torch.Tensor, pre_logits: bool = False
    ) -> torch.Tensor | dict[str, torch.Tensor]:
        """Global average pool → ``(batch, num_features)`` → heads (see the base class)."""
        features = torch.flatten(self.avgpool(x), 1)
        return features if pre_logits else self._apply_heads(features)

    def default_topographic_layers(self) -> list[str]:
        """Every Conv2d inside every residual block of layer1–layer4, in forward order.

        This includes the 1×1 projection convs of the shortcut (``layerN.0.downsample.0``),
        which are part of the block and whose output channels add one-to-one onto the
        block's last conv; it excludes the stem ``conv1`` and the heads.
        """
        return [
            name
            for name, module in self.named_modules()
            if name.startswith("layer") and isinstance(module, nn.Conv2d)
        ]


@register_architecture("cochresnet50")
def cochresnet50(heads: HeadsSpec = None, width: int = 64) -> CochResNet:
    """The published CochResNet50: Bottleneck blocks [3, 4, 6, 3] (``width=64``)."""
    return CochResNet(Bottleneck, [3, 4, 6, 3], width=width, heads=heads)


@register_architecture("cochresnet18")
def cochresnet18(heads: HeadsSpec = None, width: int = 64) -> CochResNet:
    """ResNet-18 layout on the cochleagram: BasicBlock [2, 2, 2, 2]."""
    return CochResNet(BasicBlock, [2, 2, 2, 2], width=width, heads=heads)
