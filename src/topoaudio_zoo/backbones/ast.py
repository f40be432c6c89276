"""AST on the cochleagram: a ViT (Audio Spectrogram Transformer layout) on ``(batch, 211, 390)``.

Patch embedding: a ``Conv2d(1, embed_dim, patch_size, stride=patch_stride)`` over the
(frequency, time) image, without padding. ``patch_stride`` defaults to ``patch_size`` (no
overlap); the original AST uses overlapping 16×16 patches with stride 10, available with
``patch_stride=10``. For a 211×390 input and 16×16 patches at stride 16 the grid is 13×24 =
312 patches (the last 3 frequency rows and 6 frames are not covered); at stride 10 it is
20×38 = 760 patches. A learned CLS token is prepended and learned positional embeddings,
sized from ``input_size``, are added. Pre-norm blocks (``norm1 → attn → +``,
``norm2 → mlp.fc1 → GELU → mlp.fc2 → +``), a final LayerNorm, and the heads read the CLS
token. Defaults are ViT-Base: depth 12, width 768, 12 heads, MLP 3072.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Backbone, as_image
from .heads import HeadsSpec
from .registry import register_architecture

__all__ = ["ASTCoch", "Attention", "Block", "Mlp", "ast_coch"]


class Attention(nn.Module):
    """Multi-head self-attention on tokens ``(batch, tokens, dim)``."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, dim // self.num_heads)
        query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(query, key, value)
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, dim))


class Mlp(nn.Module):
    """``fc1`` (dim → hidden) → GELU → ``fc2`` (hidden → dim)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block; output ``(batch, tokens, dim)``."""

    def __init__(self, dim: int, num_heads: int, hidden: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


class ASTCoch(Backbone):
    """ViT on a cochleagram of exactly ``input_size = (freq, time)``.

    Read-outs ``block0``… ``block{depth-1}`` (tokens ``(batch, 1 + patches, embed_dim)``, CLS
    first) and ``final``. ``num_features = embed_dim`` (the normalised CLS token).
    """

    def __init__(
        self,
        heads: HeadsSpec = None,
        input_size: tuple[int, int] = (211, 390),
        patch_size: int = 16,
        patch_stride: int | None = None,
        depth: int = 12,
        embed_dim: int = 768,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        if not isinstance(input_size, tuple | list) or len(input_size) != 2:
            raise ValueError(f"input_size must be (freq, time), got {input_size!r}")
        freq, time = (_positive_int("input_size", side) for side in input_size)
        patch_size = _positive_int("patch_size", patch_size)
        stride = _positive_int("patch_stride", patch_size if patch_stride is None else patch_stride)
        for name, value in (("depth", depth), ("embed_dim", embed_dim), ("num_heads", num_heads)):
            _positive_int(name, value)
        if embed_dim % num_heads:
            raise ValueError(
                f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})"
            )
        if patch_size > min(freq, time):
            raise ValueError(f"patch_size ({patch_size}) exceeds input_size {input_size!r}")
        hidden = round(embed_dim * mlp_ratio)
        if hidden < 1:
            raise ValueError(f"mlp_ratio must give at least one hidden unit, got {mlp_ratio!r}")
        self.input_size = (freq, time)
        self.grid_size = ((freq - patch_size) // stride + 1, (time - patch_size) // stride + 1)
        self.patch_embed = nn.Conv2d(1, embed_dim, patch_size, stride=stride)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        n_tokens = 1 + self.grid_size[0] * self.grid_size[1]
        self.pos_embed = nn.Parameter(torch.zeros(1, n_tokens, embed_dim))
        self.blocks = nn.ModuleList(Block(embed_dim, num_heads, hidden) for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.num_features = embed_dim
        self._stage_paths = {f"block{index}": f"blocks.{index}" for index in range(depth)}
        self._init_weights()
        self.reset_heads(heads)

    def _init_weights(self) -> None:
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    _output_fmts = ("NCHW", "NLC")

    @property
    def feature_stages(self) -> tuple[str, ...]:
        """``block0`` … ``block{depth-1}``."""
        return tuple(self._stage_paths)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised tokens ``(batch, 1 + patches, embed_dim)``, CLS first."""
        x = as_image(x)
        if tuple(x.shape[-2:]) != self.input_size:
            raise ValueError(
                f"ast_coch was built for input_size {self.input_size} (its positional "
                f"embeddings), got {tuple(x.shape[-2:])}; create it with input_size="
                f"({x.shape[-2]}, {x.shape[-1]})"
            )
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)
        tokens = torch.cat([cls, tokens], dim=1) + self.pos_embed
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)

    def forward_head(
        self, x: torch.Tensor, pre_logits: bool = False
    ) -> torch.Tensor | dict[str, torch.Tensor]:
        """The CLS token ``(batch, embed_dim)`` → heads (see the base class)."""
        features = x[:, 0]
        return features if pre_logits else self._apply_heads(features)

    def _format_intermediate(self, x: torch.Tensor, norm: bool, output_fmt: str) -> torch.Tensor:
        """Patch tokens without CLS: ``(batch, patches, D)`` ("NLC") or ``(batch, D, grid_f,
        grid_t)`` ("NCHW"); ``norm`` applies the final LayerNorm first."""
        patches = (self.norm(x) if norm else x)[:, 1:]
        if output_fmt == "NLC":
            return patches
        return patches.transpose(1, 2).reshape(x.shape[0], x.shape[-1], *self.grid_size)

    def default_topographic_layers(self) -> list[str]:
        """The first MLP linear of every block, ``blocks.{i}.mlp.fc1`` (TopoNets' choice)."""
        return [f"blocks.{index}.mlp.fc1" for index in range(len(self.blocks))]


# AST/ViT on the cochleagram; ViT-B by default, smaller by keyword (see the module doc).
ast_coch = register_architecture("ast_coch")(ASTCoch)
