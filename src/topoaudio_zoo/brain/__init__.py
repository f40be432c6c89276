"""Brain predictivity: fMRI datasets, features and ridge encoding models (Tuckute et al. 2023).

- :func:`load_nh2015`: the NH2015 sounds, categories and six fMRI components.
- :func:`load_tuckute`: NH2015 / B2021 voxels and NH2015 components of the Tuckute et al.
  (2023) release, as :class:`BrainTargets`.
- :func:`model_features`: each layer's time-averaged response per sound (``"cochleagram"``:
  the spectrotemporal anchor).
- :func:`ridge_loo`: ridge for many targets, penalty by exact leave-one-out from one SVD.
- :func:`evaluate_features`: the whole protocol (splits, noise correction, best layer).
"""

from .evaluate import evaluate_features
from .features import COCHLEAGRAM, cochleagram_features, model_features
from .nh2015 import NH2015, NH2015_CATEGORIES, NH2015_SOUNDS, load_nh2015
from .protocol import make_splits, score_layer
from .ridge import RELATIVE_ALPHAS, ridge_loo
from .targets import BrainTargets
from .tuckute import load_tuckute

__all__ = [
    "COCHLEAGRAM",
    "NH2015",
    "NH2015_CATEGORIES",
    "NH2015_SOUNDS",
    "RELATIVE_ALPHAS",
    "BrainTargets",
    "cochleagram_features",
    "evaluate_features",
    "load_nh2015",
    "load_tuckute",
    "make_splits",
    "model_features",
    "ridge_loo",
    "score_layer",
]
