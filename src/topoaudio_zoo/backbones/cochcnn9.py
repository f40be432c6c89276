"""CochCNN9: the Kell et al. (2018)-style auditory CNN ("kell2018" in Feather et al.'s code).

Every convolution and pool uses TensorFlow's "same" padding: the output size is
``ceil(input / stride)`` and the total padding ``max((out − 1)·stride + kernel − input, 0)`` is
split with the smaller half first (top/left), the larger last (bottom/right). Max-pools pad
with −inf; the average pool pads with zeros that count in the mean (as the published PyTorch
port does). Convolutions have no bias.

=====  ==========================================  ====================
stage  layer                                       output (211×390 in)
=====  ==========================================  ====================
0      ``batchnorm0`` BN(1)                        1×211×390
1      ``conv0`` 1→96, [7, 14], stride 3, ReLU     96×71×130
2      ``maxpool0`` [2, 5], stride 2               96×36×65
3      ``batchnorm1``
4      ``conv1`` 96→256, [4, 8], stride 2, ReLU    256×18×33
5      ``maxpool1`` [2, 5], stride 2               256×9×17
6      ``batchnorm2``
7–9    ``conv2`` 256→512, ``conv3`` 512→1024,      512×9×17
       ``conv4`` 1024→512, [2, 5], ReLU
10     ``avgpool`` [2, 5], stride 2                512×5×9
11     ``fullyconnected`` 23040→4096, ``relufc``,  4096
       dropout
=====  ==========================================  ====================
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .base import Backbone, as_image
from .heads import HeadsSpec
from .registry import register_architecture

__all__ = ["PUBLISHED_INPUT_SIZE", "CochCNN9", "SameAvgPool2d", "SameConv2d", "SameMaxPool2d"]

PUBLISHED_INPUT_SIZE = (211, 390)
"""(frequency channels, time frames) the published flatten (512·5·9) is built for."""

_POOLED_SIZE = (5, 9)


def _same_padding(size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int]):
    """``F.pad`` argument (left, right, top, bottom) for TensorFlow "same" padding."""
    pads = []
    for length, k, s in zip(reversed(size), reversed(kernel), reversed(stride), strict=True):
        total = max((math.ceil(length / s) - 1) * s + k - length, 0)
        pads += [total // 2, total - total // 2]
    return pads


class SameConv2d(nn.Conv2d):
    """``nn.Conv2d`` (no bias) with TensorFlow "same" padding computed from the input size."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: tuple[int, int], stride: int
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, _same_padding(x.shape[-2:], self.kernel_size, self.stride))
        return super().forward(x)


class SameMaxPool2d(nn.MaxPool2d):
    """Max-pool with TensorFlow "same" padding (padded values never win)."""

    def __init__(self, kernel_size: tuple[int, int], stride: int) -> None:
        super().__init__(kernel_size, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel, stride = self.kernel_size, (self.stride, self.stride)
        x = F.pad(x, _same_padding(x.shape[-2:], kernel, stride), value=-math.inf)
        return super().forward(x)


class SameAvgPool2d(nn.AvgPool2d):
    """Average pool with TensorFlow "same" sizes; the zero padding counts in the mean."""

    def __init__(self, kernel_size: tuple[int, int], stride: int) -> None:
        super().__init__(kernel_size, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel, stride = self.kernel_size, (self.stride, self.stride)
        x = F.pad(x, _same_padding(x.shape[-2:], kernel, stride))
        return super().forward(x)


_STAGES = {
    name: name
    for name in (
        "relu0",
        "maxpool0",
        "relu1",
        "maxpool1",
        "relu2",
        "relu3",
        "relu4",
        "avgpool",
        "relufc",
    )
}


class CochCNN9(Backbone):
    """The Kell2018-style CNN on a cochleagram ``(batch, 211, 390)``.

    With ``adaptive_pool=False`` (as published) only 211×390 inputs are accepted. With
    ``adaptive_pool=True`` the ``avgpool`` module also averages adaptively to 5×9, so any
    input size works; at 211×390 the result is identical. ``num_features = 4096`` (the
    ``relufc`` units after dropout). ``batchnorm0`` starts at weight 0.618, bias −2.0971.
    """

    def __init__(
        self, heads: HeadsSpec = None, adaptive_pool: bool = False, dropout: float = 0.5
    ) -> None:
        super().__init__()
        if not isinstance(adaptive_pool, bool):
            raise ValueError(f"adaptive_pool must be a bool, got {adaptive_pool!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.adaptive_pool = adaptive_pool
        self.batchnorm0 = nn.BatchNorm2d(1)
        self.conv0 = SameConv2d(1, 96, (7, 14), stride=3)
        self.relu0 = nn.ReLU()
        self.maxpool0 = SameMaxPool2d((2, 5), stride=2)
        self.batchnorm1 = nn.BatchNorm2d(96)
        self.conv1 = SameConv2d(96, 256, (4, 8), stride=2)
        self.relu1 = nn.ReLU()
        self.maxpool1 = SameMaxPool2d((2, 5), stride=2)
        self.batchnorm2 = nn.BatchNorm2d(256)
        self.conv2 = SameConv2d(256, 512, (2, 5), stride=1)
        self.relu2 = nn.ReLU()
        self.conv3 = SameConv2d(512, 1024, (2, 5), stride=1)
        self.relu3 = nn.ReLU()
        self.conv4 = SameConv2d(1024, 512, (2, 5), stride=1)
        self.relu4 = nn.ReLU()
        pool = SameAvgPool2d((2, 5), stride=2)
        self.avgpool = (
            nn.Sequential(pool, nn.AdaptiveAvgPool2d(_POOLED_SIZE)) if adaptive_pool else pool
        )
        self.fullyconnected = nn.Linear(512 * _POOLED_SIZE[0] * _POOLED_SIZE[1], 4096)
        self.relufc = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.num_features = 4096
        self._stage_paths = dict(_STAGES)
        nn.init.constant_(self.batchnorm0.weight, 0.618)
        nn.init.constant_(self.batchnorm0.bias, -2.0971)
        self.reset_heads(heads)

    feature_stages = ("relu0", "relu1", "relu2", "relu3", "relu4")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``relu4``'s map ``(batch, 512, 9, 17)`` of a 211×390 cochleagram batch."""
        x = as_image(x)
        if not self.adaptive_pool and tuple(x.shape[-2:]) != PUBLISHED_INPUT_SIZE:
            raise ValueError(
                f"cochcnn9 takes {PUBLISHED_INPUT_SIZE[0]}×{PUBLISHED_INPUT_SIZE[1]} "
                f"cochleagrams as published, got {x.shape[-2]}×{x.shape[-1]}; "
                "create it with adaptive_pool=True for other sizes"
            )
        x = self.maxpool0(self.relu0(self.conv0(self.batchnorm0(x))))
        x = self.maxpool1(self.relu1(self.conv1(self.batchnorm1(x))))
        x = self.relu2(self.conv2(self.batchnorm2(x)))
        return self.relu4(self.conv4(self.relu3(self.conv3(x))))

    def forward_head(
        self, x: torch.Tensor, pre_logits: bool = False
    ) -> torch.Tensor | dict[str, torch.Tensor]:
        """``avgpool`` → ``fullyconnected`` → ``relufc`` → dropout (the ``(batch, 4096)``
        embedding) → heads (see the base class)."""
        x = torch.flatten(self.avgpool(x), 1)
        features = self.dropout(self.relufc(self.fullyconnected(x)))
        return features if pre_logits else self._apply_heads(features)

    def default_topographic_layers(self) -> list[str]:
        """The five convolutions ``conv0``…``conv4`` (not ``fullyconnected``, not the heads)."""
        return [f"conv{index}" for index in range(5)]


@register_architecture("cochcnn9")
def cochcnn9(
    heads: HeadsSpec = None, adaptive_pool: bool = False, dropout: float = 0.5
) -> CochCNN9:
    """Kell2018-style CNN; ``adaptive_pool=True`` accepts inputs other than 211×390."""
    return CochCNN9(heads=heads, adaptive_pool=adaptive_pool, dropout=dropout)
