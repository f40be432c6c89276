"""Measured brain responses to a set of sounds, as the encoding models predict them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["BrainTargets"]


@dataclass(frozen=True)
class BrainTargets:
    """Responses of components or voxels to named sounds.

    Attributes:
        dataset: ``nh2015-components``, ``nh2015`` or ``b2021``.
        sounds: stimulus names (``stim5_alarm_clock``), one per row of ``responses``.
        responses: ``(sounds, components)`` or ``(sounds, voxels, 3 repetitions)``.
        target_names: one name per component or voxel (voxel ids as strings).
        participants: ``(voxels,)`` participant of each voxel; ``None`` for components.
        rois: ROI name → boolean mask ``(voxels,)``; ``"all"`` is every voxel. Empty for
            components.
    """

    dataset: str
    sounds: list[str]
    responses: np.ndarray
    target_names: list[str]
    participants: np.ndarray | None = None
    rois: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def voxelwise(self) -> bool:
        """Whether the targets are voxels with repetitions (noise-corrected)."""
        return self.responses.ndim == 3

    def __post_init__(self) -> None:
        if self.responses.ndim not in (2, 3) or self.responses.shape[0] != len(self.sounds):
            raise ValueError(
                f"{self.dataset}: responses of shape {self.responses.shape} do not fit "
                f"{len(self.sounds)} sounds"
            )
        if self.responses.shape[1] != len(self.target_names):
            raise ValueError(
                f"{self.dataset}: {self.responses.shape[1]} targets but "
                f"{len(self.target_names)} names"
            )
        if self.voxelwise and (
            self.participants is None or len(self.participants) != self.responses.shape[1]
        ):
            raise ValueError(f"{self.dataset}: voxel responses need one participant per voxel")
