"""Cortical sheets, the topographic loss (against the ``topoloss`` package) and smoothness."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F
from topoloss import LaplacianPyramid, TopoLoss
from topoloss.cortical_sheet.common import find_cortical_sheet_size
from topoloss.cortical_sheet.output import get_cortical_sheet_conv, get_cortical_sheet_linear
from torch import nn

import topoaudio_zoo.topography.loss as loss_module
from topoaudio_zoo import TopographicLoss, create_backbone, sheet_shape
from topoaudio_zoo.topography import (
    correlation_curve,
    smoothness,
    to_sheet,
    unit_positions,
    weight_smoothness,
)
from topoaudio_zoo.topography.blur import SheetBlur, Workspace, sheet_cosine_losses

# ----------------------------------------------------------------------------------- sheets


@pytest.mark.parametrize(("n_units", "shape"), [
    (64, (8, 8)), (96, (8, 12)), (128, (8, 16)), (256, (16, 16)), (512, (16, 32)),
    (1024, (32, 32)), (2048, (32, 64)), (3072, (48, 64)), (4096, (64, 64)),
    (794, (2, 397)), (11, (1, 11)), (1, (1, 1)),
])  # fmt: skip
def test_sheet_shape_examples(n_units, shape):
    assert sheet_shape(n_units) == shape


def test_sheet_shape_agrees_with_topoloss():
    for n_units in range(1, 5000):
        size = find_cortical_sheet_size(n_units)
        assert sheet_shape(n_units) == (size.height, size.width)


@pytest.mark.parametrize("n_units", [0, -4, 2.5, True, "64"])
def test_sheet_shape_rejects_bad_counts(n_units):
    with pytest.raises(ValueError, match="n_units"):
        sheet_shape(n_units)


def test_unit_positions_are_row_major():
    positions = unit_positions(96)  # 8 × 12
    assert positions.shape == (96, 2)
    assert positions[0].tolist() == [0, 0]
    assert positions[11].tolist() == [0, 11]
    assert positions[12].tolist() == [1, 0]
    assert positions[95].tolist() == [7, 11]


def test_layout_is_topoloss_layout_for_conv_weights_and_activations():
    conv = nn.Conv2d(3, 96, 2, bias=False)
    with torch.no_grad():  # unit i's weight vector is i + (0, 0.001, 0.002, …)
        codes = torch.arange(96.0)[:, None] + torch.arange(12.0)[None] / 1000
        conv.weight.copy_(codes.reshape(96, 3, 2, 2))
    reference = get_cortical_sheet_conv(conv, strict_layer_type=True)  # (H, W, D)
    ours = to_sheet(conv.weight.detach().reshape(96, -1), dim=0)
    assert reference.shape == ours.shape == (8, 12, 12)
    assert torch.equal(reference, ours)
    for unit, (row, col) in enumerate(unit_positions(96)):
        assert torch.equal(reference[row, col], codes[unit])
    out = conv(torch.randn(2, 3, 5, 7))
    sheet = to_sheet(out, dim=1)
    assert sheet.shape == (2, 8, 12, 4, 6)
    for unit, (row, col) in enumerate(unit_positions(96)):
        assert torch.equal(sheet[:, row, col], out[:, unit])


def test_layout_is_topoloss_layout_for_linear_weights_and_tokens():
    linear = nn.Linear(5, 48)
    with torch.no_grad():
        linear.weight.copy_(torch.arange(48.0)[:, None] + torch.arange(5.0)[None] / 100)
    reference = get_cortical_sheet_linear(linear, strict_layer_type=True)
    assert reference.shape == (6, 8, 5)
    for unit, (row, col) in enumerate(unit_positions(48)):
        assert torch.equal(reference[row, col], linear.weight[unit])
    tokens = linear(torch.randn(2, 3, 5)).detach().numpy()
    sheet = to_sheet(tokens, dim=-1)
    assert isinstance(sheet, np.ndarray) and sheet.shape == (2, 3, 6, 8)
    assert np.array_equal(sheet[..., 2, 5], tokens[..., 2 * 8 + 5])


def test_to_sheet_rejects_bad_dim():
    with pytest.raises(ValueError, match="dim"):
        to_sheet(torch.zeros(2, 64), dim=2)


# ------------------------------------------------------------------------------------- loss

SMALL = {
    "cochresnet18": {"width": 16},
    "cochresnet50": {"width": 16},
    "cochcnn9": {},
    "ast_coch": {"depth": 3, "embed_dim": 48, "num_heads": 4},
}


def _oracle(layers, factor, tau):
    factor_h, factor_w = factor if isinstance(factor, tuple) else (factor, factor)
    return TopoLoss([LaplacianPyramid(name, factor_h, factor_w, scale=tau) for name in layers])


def _weight_grads(model, layers, loss):
    model.zero_grad(set_to_none=True)
    loss.backward()
    return [model.get_submodule(name).weight.grad.clone() for name in layers]


def _assert_matches_oracle(model, factor, tau, gradients=True):
    ours = TopographicLoss(model, tau=tau, factor=factor)
    oracle = _oracle(ours.layer_names, factor, tau)
    value, expected = ours(), oracle.compute(model)
    torch.testing.assert_close(value, expected, rtol=0, atol=1e-6 * max(tau, 1.0))
    per_layer = oracle.compute(model, reduce_mean=False, do_scaling=False)
    for name, layer_value in ours.per_layer().items():
        torch.testing.assert_close(layer_value, per_layer[name], rtol=0, atol=1e-6)
    if not gradients:
        return
    grads = _weight_grads(model, ours.layer_names, ours())
    expected_grads = _weight_grads(model, ours.layer_names, oracle.compute(model))
    for grad, expected_grad in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(grad, expected_grad, rtol=1e-4, atol=1e-5 * grad.abs().max())


@pytest.mark.slow
@pytest.mark.parametrize(("name", "factor"), [
    ("cochresnet18", 4.0), ("cochresnet18", 3.0), ("cochresnet18", (2.0, 3.0)),
    ("cochresnet50", (2.0, 3.0)), ("cochcnn9", 4.0), ("ast_coch", 4.0), ("ast_coch", (2.0, 3.0)),
    ("cochresnet18", 2.5), ("ast_coch", (1.5, 4.0)),  # non-integer φ: interpolation adjoint
])  # fmt: skip
def test_loss_and_gradients_equal_topoloss(name, factor):
    torch.manual_seed(0)
    model = create_backbone(name, heads={"word": 794}, **SMALL[name])
    _assert_matches_oracle(model, factor, tau=1.0)


@pytest.mark.slow
def test_loss_equals_topoloss_on_the_published_cochresnet50():
    torch.manual_seed(0)
    model = create_backbone("cochresnet50", heads={"word": 794, "speaker": 433})
    _assert_matches_oracle(model, 4.0, tau=25.0, gradients=False)


def test_loss_is_tau_times_mean_of_per_layer_values():
    model = create_backbone("cochresnet18", width=16)
    loss = TopographicLoss(model, tau=50.0, factor=(2, 4))
    per_layer = loss.per_layer()
    assert list(per_layer) == loss.layer_names == model.default_topographic_layers()
    assert loss.factor == (2.0, 4.0) and loss.tau == 50.0 and loss.enabled
    torch.testing.assert_close(loss(), 50.0 * torch.stack(list(per_layer.values())).mean())


def test_repeated_calls_before_backward_accumulate_correctly():
    model = create_backbone("cochresnet18", width=16)
    loss, other = TopographicLoss(model, 1.0, factor=(2.0, 4.0)), TopographicLoss(model, 1.0, 2.0)
    once = _weight_grads(model, loss.layer_names, loss())
    once_other = _weight_grads(model, loss.layer_names, other())
    together = _weight_grads(model, loss.layer_names, loss() + other() + 2.0 * loss())
    for grad, single, single_other in zip(together, once, once_other, strict=True):
        torch.testing.assert_close(grad, 3.0 * single + single_other)


def test_gradient_reaches_only_the_constrained_layers():
    model = create_backbone("cochresnet18", width=16, heads=5)
    loss = TopographicLoss(model, tau=1.0)
    loss().backward()
    constrained = {f"{name}.weight" for name in loss.layer_names}
    for name, parameter in model.named_parameters():
        if name in constrained:
            assert parameter.grad is not None and parameter.grad.abs().sum() > 0
        else:
            assert parameter.grad is None


def test_frozen_layers_get_no_gradient_and_the_others_are_unchanged():
    torch.manual_seed(0)
    model = create_backbone("cochresnet18", width=16)
    loss = TopographicLoss(model, tau=1.0)
    expected = _weight_grads(model, loss.layer_names, loss())
    frozen = model.get_submodule(loss.layer_names[0]).weight
    frozen.requires_grad_(False)
    grads = _weight_grads(model, loss.layer_names[1:], loss())
    assert frozen.grad is None
    for grad, expected_grad in zip(grads, expected[1:], strict=True):
        torch.testing.assert_close(grad, expected_grad)


def test_any_use_of_the_layer_values_gets_exact_gradients():
    torch.manual_seed(0)
    model = create_backbone("cochresnet18", width=16)
    loss = TopographicLoss(model, tau=3.0)
    weights = torch.rand(len(loss.layer_names))
    oracle = _oracle(loss.layer_names, 4.0, 1.0)
    per_layer = oracle.compute(model, reduce_mean=False, do_scaling=False)
    names = loss.layer_names
    expected_sum = sum(w * per_layer[name] for w, name in zip(weights, names, strict=True))
    expected = _weight_grads(model, loss.layer_names, expected_sum)
    grads = _weight_grads(model, loss.layer_names, (weights * loss.layer_values()).sum())
    for grad, expected_grad in zip(grads, expected, strict=True):
        torch.testing.assert_close(grad, expected_grad, rtol=1e-4, atol=1e-5 * grad.abs().max())


def test_the_loss_receives_the_upstream_gradient_its_gradients_were_computed_for(monkeypatch):
    model = create_backbone("cochresnet18", width=16)
    loss = TopographicLoss(model, tau=7.0)
    seen = []
    layer_values = loss.layer_values

    def watched_layer_values():
        values = layer_values()
        values.register_hook(seen.append)
        return values

    monkeypatch.setattr(loss, "layer_values", watched_layer_values)
    loss().backward()
    n = len(loss.layer_names)
    # τ/n rounded to float32: d(τ · mean)/d(value), the gradient the loss plans for.
    assert seen[0].tolist() == [float(np.float32(7.0) / np.float32(n))] * n


def test_a_second_backward_recomputes_fresh_gradients():
    torch.manual_seed(0)
    model = create_backbone("cochresnet18", width=16)
    loss = TopographicLoss(model, tau=2.0)
    weights = [model.get_submodule(name).weight for name in loss.layer_names]
    value = loss()
    first = torch.autograd.grad(value, weights, retain_graph=True)
    kept = [grad.clone() for grad in first]
    second = torch.autograd.grad(value, weights)
    for a, b, c in zip(first, second, kept, strict=True):
        assert a.data_ptr() != b.data_ptr()
        torch.testing.assert_close(b, c)
        torch.testing.assert_close(a, c, rtol=0, atol=0)


def test_the_loss_can_be_created_without_gradients():
    model = create_backbone("cochresnet18", width=16)
    with torch.no_grad():
        created_without = TopographicLoss(model, tau=2.0)
    with torch.inference_mode():
        created_in_inference = TopographicLoss(model, tau=2.0)
    expected = TopographicLoss(model, tau=2.0)()
    torch.testing.assert_close(created_without(), expected)
    torch.testing.assert_close(created_in_inference(), expected)


def test_values_without_gradients_carry_no_graph():
    model = create_backbone("cochresnet18", width=16)
    loss = TopographicLoss(model, tau=2.0)
    with torch.no_grad():
        values = loss.layer_values()
    assert values.grad_fn is None
    torch.testing.assert_close(values, loss.layer_values().detach())


def test_low_level_sheet_losses_check_their_arguments():
    blurs = [SheetBlur(8, 8, 9, (4.0, 4.0))]
    with pytest.raises(ValueError, match="2 weights for 1 sheets"):
        sheet_cosine_losses([torch.randn(64, 9)] * 2, blurs)
    with pytest.raises(ValueError, match="grad_scale"):
        sheet_cosine_losses([torch.randn(64, 9)], blurs, Workspace(), grad_scale=0.0)


@pytest.mark.parametrize(("height", "width", "factor"), [
    (16, 32, (4.0, 4.0)), (8, 12, (3.0, 5.0)), (7, 9, (2.0, 2.5)), (6, 6, (1.0, 1.5)),
])  # fmt: skip
def test_blur_matrices_are_the_interpolations(height, width, factor):
    torch.set_default_dtype(torch.float64)  # the matrices are float32 whatever the default
    try:
        blur = SheetBlur(height, width, 5, factor)
    finally:
        torch.set_default_dtype(torch.float32)
    sheet = torch.randn(1, 5, height, width)
    small = F.interpolate(sheet, scale_factor=(1 / factor[0], 1 / factor[1]), mode="bilinear")
    blurred = F.interpolate(small, size=(height, width), mode="bilinear")
    matrices = blur.matrices(torch.device("cpu"))
    vectors = sheet[0].permute(1, 2, 0).reshape(-1, 5)
    ours_small = matrices.down.apply(vectors)
    torch.testing.assert_close(ours_small, small[0].permute(1, 2, 0).reshape(-1, 5))
    ours = matrices.up.apply(ours_small)
    torch.testing.assert_close(ours, blurred[0].permute(1, 2, 0).reshape(-1, 5))
    for rows in (matrices.down, matrices.up):
        assert torch.diff(rows.offsets).max() <= 4  # bilinear: at most 2 × 2 neighbours
    probe = torch.randn(height * width, 5)
    adjoint = (matrices.up_adjoint.apply(probe) * ours_small).sum()
    torch.testing.assert_close(adjoint, (probe * ours).sum())
    moved = blur.matrices(torch.device("meta"))  # another device: moved once, then kept
    assert moved.gradient.values.device.type == moved.alpha_index.device.type == "meta"
    assert blur.matrices(torch.device("meta")) is moved


def test_inference_mode_values_leave_training_intact():
    torch.manual_seed(0)
    model = create_backbone("cochresnet18", width=16)
    loss = TopographicLoss(model, tau=1.0)
    with torch.inference_mode():
        in_inference = loss.layer_values()  # e.g. Lightning's validation sanity check
    expected = _oracle(loss.layer_names, 4.0, 1.0).compute(model)
    value = loss.layer_values()
    torch.testing.assert_close(in_inference, value)
    torch.testing.assert_close(value.mean(), expected, rtol=0, atol=1e-6)
    value.sum().backward()
    assert all(model.get_submodule(name).weight.grad is not None for name in loss.layer_names)


def test_minimising_the_loss_smooths_the_weights():
    torch.manual_seed(0)
    model = create_backbone("cochresnet18", width=16)
    layer = model.layer3[0].conv1  # 64 units: 8 × 8 sheet
    loss = TopographicLoss(model, tau=1.0, layers=["layer3.0.conv1"])
    optimizer = torch.optim.SGD(model.parameters(), lr=5.0)
    before_loss, before_smoothness = loss().item(), weight_smoothness(layer)
    for _ in range(30):
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
    assert before_smoothness < 0.1 and before_loss > 0.5
    assert loss().item() < 0.1 * before_loss
    assert weight_smoothness(layer) > 0.5


def test_zero_tau_is_no_term(monkeypatch):
    model = create_backbone("cochresnet18", width=16)
    loss = TopographicLoss(model, tau=0)

    def fail(*_args, **_kwargs):
        raise AssertionError("the loss was computed although tau == 0")

    monkeypatch.setattr(loss_module, "sheet_cosine_losses", fail)
    value = loss()
    assert not loss.enabled
    assert value.shape == () and value.item() == 0.0
    assert value.grad_fn is None and not value.requires_grad


@pytest.mark.parametrize("tau", [-1.0, float("nan"), float("inf"), "5", True])
def test_bad_tau_is_rejected(tau):
    with pytest.raises(ValueError, match="tau"):
        TopographicLoss(create_backbone("cochresnet18", width=16), tau=tau)


@pytest.mark.parametrize("factor", [0.5, 0, (2.0,), (2.0, 3.0, 4.0), "4", float("nan")])
def test_bad_factor_is_rejected(factor):
    with pytest.raises(ValueError, match="factor"):
        TopographicLoss(create_backbone("cochresnet18", width=16), tau=1.0, factor=factor)


def test_factor_larger_than_a_sheet_side_names_the_layer():
    model = create_backbone("cochresnet18", width=8)  # layer1 convs: 8 units → 2 × 4 sheet
    with pytest.raises(ValueError, match=r"'layer1\.0\.conv1' has a 2×4 sheet"):
        TopographicLoss(model, tau=1.0, factor=4.0)
    assert len(TopographicLoss(model, tau=1.0, factor=(2, 4)).layer_names) == 19


def test_classifier_heads_are_rejected():
    model = create_backbone("cochresnet18", width=16, heads={"word": 794, "noise": 11})
    with pytest.raises(ValueError, match=r"'heads\.word' has a 2×397 sheet, smaller than"):
        TopographicLoss(model, tau=1.0, layers=["layer1.0.conv1", "heads.word"])
    with pytest.raises(ValueError, match=r"'heads\.noise' has 11 units, a degenerate 1×11"):
        TopographicLoss(model, tau=1.0, factor=1.0, layers=["heads.noise"])


@pytest.mark.parametrize(("layers", "match"), [
    (["layer1.0.conv3"], r"'layer1\.0\.conv3' does not exist"),
    (["layer1.0.bn1"], r"'layer1\.0\.bn1' is a BatchNorm2d"),
    (["layer1"], r"'layer1' is a Sequential"),
    (["layer1.0.conv1", "layer1.0.conv1"], "more than once"),
    ([], "at least one"),
    ("all", "'default'"),
])  # fmt: skip
def test_bad_layers_are_rejected(layers, match):
    with pytest.raises(ValueError, match=match):
        TopographicLoss(create_backbone("cochresnet18", width=16), tau=1.0, layers=layers)


def test_default_layers_need_a_backbone():
    with pytest.raises(ValueError, match="default_topographic_layers"):
        TopographicLoss(nn.Sequential(nn.Linear(4, 64)), tau=1.0)
    loss = TopographicLoss(nn.Sequential(nn.Linear(4, 64)), tau=1.0, layers=["0"])
    assert loss.layer_names == ["0"]


@pytest.mark.slow
def test_torch_compile_wrapper_is_unwrapped():
    model = create_backbone("cochresnet18", width=16)
    compiled = torch.compile(model)
    loss = TopographicLoss(compiled, tau=2.0)
    assert loss.layer_names == model.default_topographic_layers()
    torch.testing.assert_close(loss(), TopographicLoss(model, tau=2.0)())
    prefixed = TopographicLoss(compiled, tau=2.0, layers=["_orig_mod.layer1.0.conv1"])
    assert prefixed.layer_names == ["layer1.0.conv1"]


def test_ddp_wrapper_is_unwrapped(tmp_path):
    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1
    )
    try:
        model = create_backbone("cochresnet18", width=16, heads=3)
        wrapped = nn.parallel.DistributedDataParallel(model)
        loss = TopographicLoss(wrapped, tau=2.0, layers=["module.layer2.0.conv1", "layer3.1.conv2"])
        assert loss.layer_names == ["layer2.0.conv1", "layer3.1.conv2"]
        expected = _oracle(loss.layer_names, 4.0, 2.0).compute(model)
        torch.testing.assert_close(loss(), expected, rtol=0, atol=2e-6)
    finally:
        dist.destroy_process_group()


def test_float32_under_autocast_and_low_precision_weights():
    model = create_backbone("ast_coch", depth=2, embed_dim=32, num_heads=2)
    loss = TopographicLoss(model, tau=3.0)
    expected = loss()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = loss()
    assert value.dtype == torch.float32
    torch.testing.assert_close(value, expected)
    model.to(torch.bfloat16)
    value = loss()
    assert value.dtype == torch.float32
    value.backward()
    grad = model.blocks[0].mlp.fc1.weight.grad
    assert grad.dtype == torch.bfloat16 and grad.abs().sum() > 0


# ------------------------------------------------------------------------------- smoothness


def _smooth_sheet(height=12, width=12, n_stimuli=40, seed=0):
    """Units tuned (Gaussian) to a preferred stimulus that varies smoothly over the sheet."""
    rng = np.random.default_rng(seed)
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    preferred = np.stack([rows.ravel() / height, cols.ravel() / width], axis=1)
    stimuli = rng.uniform(0, 1, size=(n_stimuli, 2))
    distance = np.linalg.norm(preferred[:, None] - stimuli[None], axis=2)
    return np.exp(-(distance**2) / 0.05) + 0.01 * rng.standard_normal((height * width, n_stimuli))


def test_curve_matches_brute_force_pairs():
    rng = np.random.default_rng(1)
    responses = rng.standard_normal((12, 9))  # 12 units → 3 × 4 sheet
    responses[5] = 2.0  # a dead unit: its pairs are excluded
    centres, curve = correlation_curve(responses)
    pairs: dict[int, list[float]] = {}
    for i, j in itertools.combinations(range(12), 2):
        if 5 in (i, j):
            continue
        (ri, ci), (rj, cj) = divmod(i, 4), divmod(j, 4)
        distance = np.hypot(ri - rj, ci - cj)
        r = np.corrcoef(responses[i], responses[j])[0, 1]
        pairs.setdefault(int(np.floor(distance)) - 1, []).append(1 - r)
    expected = [np.mean(pairs[k]) for k in range(max(pairs) + 1)]
    np.testing.assert_allclose(curve, expected, rtol=1e-12)
    np.testing.assert_allclose(centres, np.arange(len(expected)) + 1.5)
    peak = max(expected)
    assert smoothness(responses) == pytest.approx((peak - expected[0]) / peak, rel=1e-12)


def test_smooth_map_scores_higher_than_shuffled():
    responses = _smooth_sheet()
    shuffled = responses[np.random.default_rng(2).permutation(len(responses))]
    smooth_score, shuffled_score = smoothness(responses), smoothness(shuffled)
    assert smooth_score > 0.5
    assert abs(shuffled_score) < 0.2
    _, curve = correlation_curve(responses)
    assert curve[0] < curve[len(curve) // 2]  # dissimilarity grows with distance


def test_smoothness_is_invariant_to_unit_scaling_and_offsets():
    responses = _smooth_sheet()
    rng = np.random.default_rng(3)
    scaled = responses * rng.uniform(0.01, 100, size=(len(responses), 1)) + rng.normal(
        size=(len(responses), 1)
    )
    assert smoothness(scaled) == pytest.approx(smoothness(responses), rel=1e-9)


def test_custom_positions_and_torch_input():
    responses = _smooth_sheet(height=6, width=10)
    positions = unit_positions(60)  # 6 × 10 sheet, as the default layout
    transposed = positions[:, ::-1] * 2.0  # same map, twice the spacing, axes swapped
    score = smoothness(torch.tensor(responses), positions)
    assert score == pytest.approx(smoothness(responses))
    assert smoothness(responses, transposed, bin_width=2.0) == pytest.approx(score)


def test_dead_units_are_undefined():
    with pytest.raises(ValueError, match="non-constant"):
        smoothness(np.ones((16, 10)))
    one_alive = np.zeros((16, 10))
    one_alive[3] = np.arange(10)
    with pytest.raises(ValueError, match="non-constant"):
        smoothness(one_alive)


def test_bad_smoothness_inputs():
    with pytest.raises(ValueError, match="n_units, n_stimuli"):
        smoothness(np.zeros(10))
    with pytest.raises(ValueError, match="positions"):
        smoothness(np.random.default_rng(0).standard_normal((8, 5)), np.zeros((7, 2)))
    with pytest.raises(ValueError, match="finite"):
        smoothness(np.full((8, 5), np.nan))
    with pytest.raises(ValueError, match=r"nn\.Conv2d or nn\.Linear"):
        weight_smoothness(nn.BatchNorm2d(16))


def test_weight_smoothness_uses_incoming_weight_vectors():
    conv = nn.Conv2d(4, 144, 3)  # 12 × 12 sheet, 36 weights per unit
    smooth = torch.tensor(_smooth_sheet(n_stimuli=36), dtype=torch.float32)
    with torch.no_grad():
        conv.weight.copy_(smooth.reshape(144, 4, 3, 3))
    planted = smoothness(smooth.double().numpy())
    assert weight_smoothness(conv) == pytest.approx(planted) and planted > 0.6
    shuffles = [torch.randperm(144, generator=torch.Generator().manual_seed(s)) for s in range(5)]
    shuffled = []
    for order in shuffles:
        with torch.no_grad():
            conv.weight.copy_(smooth.reshape(144, 4, 3, 3)[order])
        shuffled.append(weight_smoothness(conv))
    assert np.median(shuffled) < planted / 3
