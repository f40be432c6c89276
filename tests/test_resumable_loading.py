"""The training sampler's sharding across ranks and the loader's mid-epoch resume."""

import torch
from torch.utils.data import Dataset

from topoaudio_zoo.data.sampling import EpochSampler, ResumableDataLoader


class _Echo(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, item):
        index, seed = item
        return torch.tensor([index, seed % 1000])


def test_ranks_share_an_epoch_without_overlap(monkeypatch):
    shares = []
    for rank in range(3):
        sampler = EpochSampler(10, seed=1)
        monkeypatch.setattr(EpochSampler, "_replicas", staticmethod(lambda r=rank: (3, r)))
        sampler.set_epoch(2)
        shares.append([index for index, _ in sampler])
        assert len(sampler) == 4
    together = [index for share in shares for index in share]
    assert len(together) == 12 and set(together) == set(range(10))  # 2 wrap-around repeats
    assert len(set(shares[0]) & set(shares[1])) <= 1


def test_epochs_differ_and_repeat_for_a_seed():
    a, b = EpochSampler(10, seed=1), EpochSampler(10, seed=1)
    first, second = list(a), list(a)
    assert first != second
    b.set_epoch(1)
    assert list(b) == second


def test_loader_resumes_mid_epoch_with_the_same_batches():
    full = ResumableDataLoader(_Echo(), batch_size=3, sampler=EpochSampler(10, seed=4))
    full.sampler.set_epoch(5)
    uninterrupted = [batch.tolist() for batch in full]

    crashed = ResumableDataLoader(_Echo(), batch_size=3, sampler=EpochSampler(10, seed=4))
    crashed.sampler.set_epoch(5)
    iterator = iter(crashed)
    seen = [next(iterator).tolist(), next(iterator).tolist()]
    state = crashed.state_dict()
    assert state == {"epoch": 5, "batches": 2}

    resumed = ResumableDataLoader(_Echo(), batch_size=3, sampler=EpochSampler(10, seed=4))
    resumed.load_state_dict(state)
    rest = [batch.tolist() for batch in resumed]
    assert seen + rest == uninterrupted
    assert len(resumed) == len(full) == 4
    assert [batch.tolist() for batch in resumed] != rest  # the next pass is a new epoch


def test_state_saved_at_an_epoch_end_starts_the_next_epoch_in_full():
    loader = ResumableDataLoader(_Echo(), batch_size=3, sampler=EpochSampler(10, seed=4))
    loader.sampler.set_epoch(2)
    finished = [batch.tolist() for batch in loader]
    resumed = ResumableDataLoader(_Echo(), batch_size=3, sampler=EpochSampler(10, seed=4))
    resumed.load_state_dict(loader.state_dict())
    resumed.sampler.set_epoch(3)  # what Lightning does after an epoch's end
    reference = ResumableDataLoader(_Echo(), batch_size=3, sampler=EpochSampler(10, seed=4))
    reference.sampler.set_epoch(3)
    assert [b.tolist() for b in resumed] == [b.tolist() for b in reference] != finished
