"""Seeding and training order, resumable mid-epoch.

Every random choice of an example (crop position, silence segment, background pairing, SNR,
augmentation) comes from a ``torch.Generator`` seeded for that example alone:

- in training, :class:`EpochSampler` draws, from ``(seed, epoch)``, the order of the examples
  and one 63-bit seed per example, so crops differ across epochs and the whole run is
  reproducible whatever the number of workers; :class:`ResumableDataLoader` records its
  position in Lightning checkpoints, so a run resumed mid-epoch sees the batches an
  uninterrupted run would;
- in validation/test the seed is a fixed function of ``(seed, split, index)``
  (:func:`example_generator`), so evaluation batches are identical from run to run.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler

__all__ = ["EpochSampler", "ResumableDataLoader", "example_generator", "resolve_item"]

_STREAM = {"train": 0, "val": 1, "test": 2}


def example_generator(seed: int, split: str, index: int) -> torch.Generator:
    """The fixed random source of evaluation example ``index`` of ``split``."""
    state = np.random.SeedSequence([seed, _STREAM[split], index]).generate_state(2, np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 31 | int(state[1]) >> 1)


class EpochSampler(DistributedSampler):
    """Training order and per-example seeds: yields ``(index, seed)`` pairs.

    Epoch ``e`` is a permutation drawn from ``(seed, e)`` with one seed per example. The epoch
    advances by one after each pass; Lightning's ``set_epoch`` (called before each training
    epoch) sets it explicitly, so a resumed run repeats the same crops.

    Under ``torch.distributed`` each rank takes every ``world_size``-th example of the epoch's
    order (padded by wrapping around so ranks get equal shares), as ``DistributedSampler``
    does; it subclasses ``DistributedSampler`` only so that Lightning keeps it instead of
    wrapping it. ``resume_at = (epoch, n)`` leaves out the first ``n`` examples of this rank's
    share when the next pass is epoch ``epoch``: a run resumed mid-epoch continues exactly where
    it stopped, one resumed at an epoch's end starts the next epoch in full (see
    :class:`ResumableDataLoader`).
    """

    def __init__(self, n: int, seed: int, shuffle: bool = True):
        # DistributedSampler.__init__ is not called: ranks are read when iterating.
        self.n = n
        self.seed = seed
        self.shuffle = shuffle
        self.epoch = 0
        self.current_epoch = 0
        self.resume_at: tuple[int, int] | None = None  # (epoch, examples of it already seen)

    @staticmethod
    def _replicas() -> tuple[int, int]:
        if dist.is_available() and dist.is_initialized():
            return dist.get_world_size(), dist.get_rank()
        return 1, 0

    def set_epoch(self, epoch: int) -> None:
        """Use the order and seeds of epoch ``epoch`` on the next pass."""
        self.epoch = epoch

    def __len__(self) -> int:
        world, _ = self._replicas()
        return math.ceil(self.n / world)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(self.n) if self.shuffle else np.arange(self.n)
        seeds = rng.integers(0, 2**63 - 1, size=self.n, dtype=np.int64)
        world, rank = self._replicas()
        share = len(self)
        wrapped = np.resize(np.arange(self.n), share * world)[rank::world]
        start = self.resume_at[1] if self.resume_at and self.resume_at[0] == self.epoch else 0
        self.resume_at = None
        self.current_epoch, self.epoch = self.epoch, self.epoch + 1
        mine_order, mine_seeds = order[wrapped][start:], seeds[wrapped][start:]
        yield from zip(mine_order.tolist(), mine_seeds.tolist(), strict=True)


class ResumableDataLoader(DataLoader):
    """A training ``DataLoader`` whose position Lightning saves in checkpoints.

    ``state_dict()`` records the epoch and the batches delivered so far; after
    ``load_state_dict`` the next pass starts at that batch of that epoch, so a run killed
    mid-epoch and resumed from its last checkpoint sees exactly the batches an uninterrupted
    run would. Requires an :class:`EpochSampler`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.sampler, EpochSampler):
            raise ValueError("ResumableDataLoader needs an EpochSampler")
        self._delivered = 0

    def __iter__(self) -> Iterator[Any]:
        resume = self.sampler.resume_at
        resumed = resume is not None and resume[0] == self.sampler.epoch
        self._delivered = resume[1] // self.batch_size if resumed else 0
        for batch in super().__iter__():
            self._delivered += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.sampler.current_epoch, "batches": self._delivered}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.sampler.set_epoch(int(state["epoch"]))
        self.sampler.resume_at = (int(state["epoch"]), int(state["batches"]) * self.batch_size)


def resolve_item(item: int | tuple[int, int], seed: int, split: str) -> tuple[int, torch.Generator]:
    """An index from a sampler (``int`` in evaluation, ``(index, seed)`` in training) and the
    example's random source."""
    if isinstance(item, tuple):
        index, example_seed = item
        return int(index), torch.Generator().manual_seed(int(example_seed))
    return int(item), example_generator(seed, split, int(item))
