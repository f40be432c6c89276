"""Topography: cortical sheets, the topographic loss (TopoLoss) and the smoothness metric."""

from .loss import DEFAULT_FACTOR, TopographicLoss, unwrap_model
from .sheets import sheet_shape, to_sheet, unit_positions
from .smoothness import correlation_curve, smoothness, weight_smoothness

__all__ = [
    "DEFAULT_FACTOR",
    "TopographicLoss",
    "correlation_curve",
    "sheet_shape",
    "smoothness",
    "to_sheet",
    "unit_positions",
    "unwrap_model",
    "weight_smoothness",
]
