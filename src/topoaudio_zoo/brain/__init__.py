"""Brain predictivity: fMRI datasets, features and ridge encoding models (Tuckute et al. 2023).

- :func:`load_nh2015`: the NH2015 sounds, categories and six fMRI components.
"""

from .nh2015 import NH2015, NH2015_CATEGORIES, NH2015_SOUNDS, load_nh2015

__all__ = ["NH2015", "NH2015_CATEGORIES", "NH2015_SOUNDS", "load_nh2015"]
