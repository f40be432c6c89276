"""torch.hub entry points: one per registered model, under its registry name.

    model = torch.hub.load("topoaudio-zoo/topoaudio-zoo", "topoaudio-cochresnet18w32-tau25")
    model = torch.hub.load("path/to/checkout", "topoaudio-cochresnet18w32-tau25", source="local")

Each entry point is ``NAME(pretrained=True, **kwargs)``: with ``pretrained=True`` the model of
:func:`topoaudio_zoo.from_pretrained` (shipped weights, no network; or its Hub repository),
otherwise an untrained model of the same configuration (``kwargs`` override it, as in
:func:`topoaudio_zoo.create_model`). Names with ``-`` are also reachable with ``_``
(``topoaudio_cochresnet18w32_tau25``), which ``torch.hub.list`` shows as identifiers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

dependencies = ["torch", "torchaudio", "huggingface_hub", "safetensors", "numpy", "scipy"]

_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "src")
if os.path.isdir(_SRC) and _SRC not in sys.path:
    sys.path.insert(0, _SRC)  # a fresh checkout: the package is under src/

from topoaudio_zoo.zoo import create_model as _create_model  # noqa: E402
from topoaudio_zoo.zoo import list_models as _list_models  # noqa: E402


def _entry_point(name: str) -> Callable[..., Any]:
    def load(pretrained: bool = True, **kwargs: Any) -> Any:
        return _create_model(name, pretrained=pretrained, **kwargs)

    load.__name__ = name.replace("-", "_")
    load.__doc__ = (
        f"The registered model {name!r} (see topoaudio_zoo.list_models()). "
        "pretrained=True: its weights (topoaudio_zoo.from_pretrained, keyword arguments "
        "revision, cache_dir, local_files_only, map_location, ...); pretrained=False: untrained, "
        "keyword arguments override its configuration."
    )
    return load


for _name in _list_models():
    globals()[_name] = globals()[_name.replace("-", "_")] = _entry_point(_name)
