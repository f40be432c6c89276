"""timm's feature conventions: forward_features, forward_head, forward_intermediates."""

from __future__ import annotations

import pytest
import torch

from topoaudio_zoo import create_backbone, create_model

SMALL = {
    "cochresnet18": dict(width=4),
    "cochcnn9": dict(adaptive_pool=True),
    "ast_coch": dict(input_size=(64, 96), depth=3, embed_dim=16, num_heads=2),
}
# cochcnn9 keeps its full 211 × 390 input and takes seconds a test: slow.
ARCHS = [pytest.param(n, marks=pytest.mark.slow) if n == "cochcnn9" else n for n in SMALL]


def _backbone(name: str, heads=None):
    torch.manual_seed(0)
    return create_backbone(name, heads=heads, **SMALL[name]).eval()


def _input() -> torch.Tensor:
    return torch.randn(2, 64, 96, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("name", ARCHS)
def test_forward_is_forward_head_of_forward_features(name):
    model, x = _backbone(name, heads={"word": 5, "speaker": 3}), _input()
    with torch.no_grad():
        features = model.forward_features(x)
        logits = model(x)
        pooled = model.forward_head(features, pre_logits=True)
        head = model.forward_head(features)
    assert pooled.shape == (2, model.num_features)
    assert set(head) == set(logits) == {"word", "speaker"}
    for task in logits:
        assert torch.equal(head[task], logits[task])
        assert torch.allclose(model.heads[task](pooled), logits[task])
    expected_ndim = 3 if name == "ast_coch" else 4
    assert features.ndim == expected_ndim  # unpooled: a map (conv) or tokens (transformer)


def test_resnet_intermediates_are_its_stage_outputs():
    model, x = _backbone("cochresnet18"), _input()
    with torch.no_grad():
        final, stages = model.forward_intermediates(x)
        readouts = model.forward_readouts(x, list(model.feature_stages))
        last_two = model.forward_intermediates(x, indices=2, intermediates_only=True)
        picked = model.forward_intermediates(x, indices=[0, -1], intermediates_only=True)
        early = model.forward_intermediates(
            x, indices=[1], stop_early=True, intermediates_only=True
        )
    assert model.feature_stages == ("conv1_relu1", "layer1", "layer2", "layer3", "layer4")
    assert len(stages) == 5 and torch.equal(final, model.forward_features(x))
    for stage, name in zip(stages, model.feature_stages, strict=True):
        assert torch.equal(stage, readouts[name])
    assert [t.shape[1] for t in stages] == [4, 4, 8, 16, 32]  # channels double per stage
    assert all(torch.equal(a, b) for a, b in zip(last_two, stages[3:], strict=True))
    assert torch.equal(picked[0], stages[0]) and torch.equal(picked[1], stages[4])
    assert len(early) == 1 and torch.equal(early[0], stages[1])


def test_ast_intermediates_as_patch_grids_or_tokens():
    model, x = _backbone("ast_coch"), _input()
    with torch.no_grad():
        final, grids = model.forward_intermediates(x, indices=[0, 2])
        tokens = model.forward_intermediates(
            x, indices=1, output_fmt="NLC", intermediates_only=True
        )
        normed = model.forward_intermediates(
            x, indices=1, norm=True, output_fmt="NLC", intermediates_only=True
        )
        block2 = model.forward_readouts(x, ["block2"])["block2"]
    assert model.feature_stages == ("block0", "block1", "block2")
    assert final.shape == (2, 1 + 4 * 6, 16)  # CLS + (64/16)·(96/16) patches
    assert grids[1].shape == (2, 16, 4, 6)  # (batch, D, grid_f, grid_t), CLS dropped
    assert torch.equal(tokens[0], block2[:, 1:])
    assert torch.equal(grids[1].flatten(2).transpose(1, 2), block2[:, 1:])
    assert torch.allclose(normed[0], model.norm(block2)[:, 1:])


def test_bad_indices_and_formats_are_named():
    model, x = _backbone("cochresnet18"), _input()
    for indices in (6, 0, [5], [-6], []):
        with pytest.raises(ValueError, match="indices"):
            model.forward_intermediates(x, indices=indices)
    with pytest.raises(ValueError, match="output_fmt"):
        model.forward_intermediates(x, output_fmt="NLC")


def test_the_zoo_model_takes_waveforms_or_cochleagrams():
    torch.manual_seed(0)
    model = create_model(
        "cochresnet18", width=4, heads={"word": 5}, cochleagram={"overrides": {"signal_size": 4000}}
    ).eval()
    waveforms = torch.randn(2, 4000) * 0.1
    with torch.no_grad():
        cochleagram = model.cochleagram(waveforms)
        from_wave = model.forward_features(waveforms)
        from_coch = model.forward_features(cochleagram)
        final, stages = model.forward_intermediates(waveforms, indices=2)
        coch_stages = model.forward_intermediates(cochleagram, indices=2, intermediates_only=True)
        logits = model.forward_head(from_wave)
        embedding = model.forward_head(from_wave, pre_logits=True)
        expected = model(waveforms)
    assert torch.equal(from_wave, from_coch) and torch.equal(final, from_wave)
    assert all(torch.equal(a, b) for a, b in zip(stages, coch_stages, strict=True))
    assert torch.equal(logits["word"], expected["word"])
    assert torch.equal(embedding, model.embed(waveforms))
