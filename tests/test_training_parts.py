"""The plain functions the LightningModule delegates to: heads filled from the data
(``checks.tasks_from_data``) and per-layer learning-rate groups (``optim.layer_lr_groups``)."""

from __future__ import annotations

import pytest
from torch import nn

from topoaudio_zoo.training.checks import tasks_from_data
from topoaudio_zoo.training.optim import layer_lr_groups

WORDS = ["yes", "no", "up"]


def test_tasks_are_filled_with_the_datas_classes_and_types():
    data = {"word": WORDS, "tags": ["a", "b"]}
    filled = tasks_from_data({"word": {"weight": 0.5}}, data, {"tags": "multilabel"})
    assert filled == {
        "word": {"weight": 0.5, "num_classes": 3, "labels": WORDS, "type": "multiclass"}
    }
    every = tasks_from_data(None, data, {"tags": "multilabel"})
    assert every["tags"] == {"num_classes": 2, "labels": ["a", "b"], "type": "multilabel"}
    assert set(every) == {"word", "tags"}


@pytest.mark.parametrize(
    ("tasks", "match"),
    [
        ({"genre": {}}, r"tasks: \['genre'\] are not targets of the data; it provides \['word'\]"),
        ({"word": {"num_classes": 4}}, r"tasks.word.num_classes: 4 does not match the data \(3"),
        ({"word": {"labels": ["yes", "no", "down"]}}, r"tasks.word.labels: differ"),
        ({"word": {"type": "multilabel"}}, r"tasks.word.type: multilabel but the data is multic"),
    ],
)
def test_tasks_that_do_not_fit_the_data_are_refused(tasks, match):
    with pytest.raises(ValueError, match=match):
        tasks_from_data(tasks, {"word": WORDS}, {"word": "multiclass"})


def test_each_parameter_gets_the_lr_of_its_longest_matching_prefix():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1)))
    model[0].bias.requires_grad = False
    groups = layer_lr_groups(model.named_parameters(), {"1": 0.1, "1.1": 10.0}, base_lr=0.5)
    by_lr = {group["lr"]: {id(p) for p in group["params"]} for group in groups}
    assert by_lr == {
        0.5: {id(model[0].weight)},
        0.05: {id(model[1][0].weight), id(model[1][0].bias)},
        5.0: {id(model[1][1].weight), id(model[1][1].bias)},
    }
    plain = layer_lr_groups(model.named_parameters(), None, base_lr=0.5)
    assert len(plain) == 1 and len(plain[0]["params"]) == 5


def test_a_prefix_that_names_no_parameter_is_refused():
    with pytest.raises(ValueError, match=r"layer_lr: no parameter starts with \['2'\]"):
        layer_lr_groups(nn.Sequential(nn.Linear(2, 2)).named_parameters(), {"2": 0.1}, 1.0)
