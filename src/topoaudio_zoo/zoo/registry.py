"""The static model registry (works offline) and the zoo's entry points.

A registry entry is data: the model's configuration (architecture, heads, topography, front end)
plus where its weights live — a shipped folder (used first, no network) with the SHA-256 of its
weight file, and/or a Hub repository id with a pinned revision. Shipped folders are looked for
in :func:`checkpoint_dirs`: ``$TOPOAUDIO_ZOO_CHECKPOINTS``, then a source checkout's
``checkpoints/``, then the installed package's ``topoaudio_zoo/checkpoints/`` (the embedded
default and its baseline travel in the wheel).
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..backbones import list_architectures
from ..backbones.registry import add_name_check
from ..devices import resolve_device
from .config import TOP_LEVEL_KEYS
from .hub import CONFIG_FILE, WEIGHTS_FILE, HubOptions, ModelNotAvailableError, fetch_model_files
from .model import TopoAudioModel

__all__ = [
    "DEFAULT_BASELINE",
    "DEFAULT_MODEL",
    "ModelEntry",
    "checkpoint_dirs",
    "create_model",
    "from_pretrained",
    "get_entry",
    "list_models",
    "locate_model_files",
    "register_model",
]

_REGISTRY: dict[str, ModelEntry] = {}
DEFAULT_MODEL = "topoaudio-cochresnet18w64-tau5-long"
DEFAULT_BASELINE = "baseline-cochresnet18w64-long"
WSN_HEADS = {
    "word": {"num_classes": 794, "type": "multiclass"},
    "speaker": {"num_classes": 433, "type": "multiclass"},
    "background": {"num_classes": 517, "type": "multilabel"},
}


@dataclass(frozen=True)
class ModelEntry:
    """One named model of the zoo.

    Attributes:
        name: registry name, e.g. ``"topoaudio-cochresnet18w32-tau25"``.
        config: the model configuration (as in ``config.json``) used to build it untrained.
        local_dir: folder name, under one of :func:`checkpoint_dirs`, holding ``config.json``
            and ``model.safetensors``; used first, with no network.
        sha256: hex SHA-256 of the shipped ``model.safetensors``, verified on every load.
        hub_repo: Hugging Face Hub repository id, or ``None`` if not published.
        revision: pinned revision (commit) of ``hub_repo``.
        description: one line for listings.
    """

    name: str
    config: dict[str, Any]
    local_dir: str | None = None
    sha256: str | None = None
    hub_repo: str | None = None
    revision: str | None = None
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def resolved_config(self) -> dict[str, Any]:
        """The shipped ``config.json`` when present (heads with labels), else ``config``."""
        local = self.local_path()
        if local is not None:
            return json.loads((local / CONFIG_FILE).read_text(encoding="utf-8"))
        return json.loads(json.dumps(self.config))

    def local_path(self) -> Path | None:
        """The shipped folder, in the first of :func:`checkpoint_dirs` that holds it, if any."""
        if self.local_dir is None:
            return None
        for root in checkpoint_dirs():
            path = root / self.local_dir
            if (path / CONFIG_FILE).is_file() and (path / WEIGHTS_FILE).is_file():
                return path
        return None

    @property
    def has_weights(self) -> bool:
        """Weights are shipped here or published on the Hub."""
        return self.local_path() is not None or self.hub_repo is not None


PACKAGE_CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
_SOURCE_TREE = Path(__file__).resolve().parents[3]


def checkpoint_dirs() -> list[Path]:
    """Folders searched for shipped models, in order: ``$TOPOAUDIO_ZOO_CHECKPOINTS`` (if set),
    a source checkout's ``checkpoints/`` (when running from one) and the installed package's
    own ``topoaudio_zoo/checkpoints/``."""
    override = os.environ.get("TOPOAUDIO_ZOO_CHECKPOINTS")
    dirs = [Path(override).expanduser()] if override else []
    if (_SOURCE_TREE / "pyproject.toml").is_file():
        dirs.append(_SOURCE_TREE / "checkpoints")
    return [*dirs, PACKAGE_CHECKPOINTS]


def _where_to_get(entry: ModelEntry) -> str:
    searched = ", ".join(str(path) for path in checkpoint_dirs())
    return (
        f"{entry.name!r} has no pretrained weights here: the folder {entry.local_dir!r} is not in "
        f"{searched}, and it is not published on the Hub. Its weights ship in the source "
        "repository's checkpoints/ folder: run from a source checkout, or copy that folder and "
        "point $TOPOAUDIO_ZOO_CHECKPOINTS at it. create_model(name) builds it untrained, e.g. "
        "to train it with the configs/ recipes."
    )


def register_model(entry: ModelEntry, overwrite: bool = False) -> ModelEntry:
    """Add an entry to the registry (``overwrite`` to replace one of the same name)."""
    if entry.name in _REGISTRY and not overwrite:
        raise ValueError(f"model {entry.name!r} is already registered")
    if entry.name in list_architectures():
        raise ValueError(
            f"model {entry.name!r}: an architecture has this name, so create_model would have "
            "two meanings for it; choose another model name"
        )
    _REGISTRY[entry.name] = entry
    return entry


def _refuse_model_names(name: str) -> None:
    """Refuse an architecture named like a registered model (see :func:`register_model`)."""
    if name in _REGISTRY:
        raise ValueError(
            f"architecture {name!r}: a registered model has this name, so create_model would "
            "have two meanings for it; choose another architecture name"
        )


add_name_check(_refuse_model_names)


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.4)
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def get_entry(name: str) -> ModelEntry:
    """The registry entry of ``name``; unknown names suggest the closest ones."""
    if name not in _REGISTRY:
        hint = (
            " It is not a local folder either (no such directory); a Hub repository is written "
            f"hf-hub:{name}."
            if "/" in name or "\\" in name
            else ""
        )
        raise ValueError(
            f"unknown model {name!r}.{_suggest(name, sorted(_REGISTRY))}{hint} "
            "See topoaudio_zoo.list_models() (or list_architectures() for bare architectures)."
        )
    return _REGISTRY[name]


def list_models(pattern: str = "*", pretrained: bool = False) -> list[str]:
    """Registered model names matching a shell-style ``pattern``, sorted.

    Args:
        pattern: e.g. ``"topoaudio-*"`` or ``"*cochresnet18*"``.
        pretrained: only models with weights (shipped here or on the Hub).
    """
    return sorted(
        name
        for name, entry in _REGISTRY.items()
        if fnmatch.fnmatch(name, pattern) and (entry.has_weights or not pretrained)
    )


def _split_hub_id(source: str, revision: str | None) -> tuple[str, str | None]:
    repo = source[len("hf-hub:") :]
    if "@" in repo:
        repo, pinned = repo.split("@", 1)
        if not pinned:
            raise ValueError(f"{source!r}: empty revision after '@'")
        if revision is not None and revision != pinned:
            raise ValueError(f"revision: {revision!r} conflicts with {source!r}")
        revision = pinned
    if repo.count("/") != 1:
        raise ValueError(f"{source!r}: expected hf-hub:org/name[@revision]")
    return repo, revision


def _is_path(source: str | os.PathLike) -> bool:
    """A local path: a ``PathLike``, or text that is absolute, starts with ``~`` or ``.``, or
    holds a path separator. A bare name is never a path, so a folder cannot shadow a
    registered model."""
    if not isinstance(source, str):
        return True
    separators = [os.sep, *([os.altsep] if os.altsep else [])]
    return (
        os.path.isabs(source)
        or source.startswith(("~", "."))
        or any(separator in source for separator in separators)
    )


def locate_model_files(
    name_or_path: str | os.PathLike, hub: HubOptions | None = None
) -> tuple[Path, str]:
    """The folder holding a model's ``config.json`` and ``model.safetensors``, and its label.

    Shipped weights and local folders are used in place, with no network; Hub models are
    found in the cache or downloaded into it, as ``hub`` says (see :func:`from_pretrained`).

    Returns:
        ``(folder, label)``: label names the model in messages (registry name or source).

    Raises:
        ModelNotAvailableError: files missing, not cached offline, or not on the Hub.
        ValueError: an unknown registry name (with the closest ones) or a model without
            weights.
    """
    source = str(name_or_path)
    hub = hub or HubOptions()
    if source.startswith("hf-hub:"):
        repo, revision = _split_hub_id(source, hub.revision)
        return fetch_model_files(repo, hub.with_revision(revision), label=source), source
    if source.startswith("local-dir:") or _is_path(name_or_path):
        source = source.removeprefix("local-dir:")
        folder = Path(source).expanduser()
        if not folder.is_dir():
            raise ModelNotAvailableError(
                f"{source}: no such model folder; a Hub repository is written hf-hub:{source}"
            )
        return fetch_model_files(folder, label=source), source
    if source not in _REGISTRY and Path(source).is_dir():
        raise ValueError(
            f"unknown model {source!r}; a folder of that name is here: give it as a path, "
            f"./{source}, to load it (a bare name always means a registered model)"
        )
    entry = get_entry(source)
    local = entry.local_path()
    if local is not None and hub.revision is None and not hub.force_download:
        return local, entry.name
    if entry.hub_repo is None:
        raise ValueError(_where_to_get(entry))
    folder = fetch_model_files(
        entry.hub_repo, hub.with_revision(hub.revision or entry.revision), label=entry.name
    )
    return folder, entry.name


def from_pretrained(
    name_or_path: str | os.PathLike,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    force_download: bool = False,
    token: str | bool | None = None,
    map_location: str | torch.device = "cpu",
) -> TopoAudioModel:
    """Load a pretrained model, strictly, from safetensors only.

    Args:
        name_or_path: a registry name (``list_models(pretrained=True)``), ``hf-hub:org/repo``
            or ``hf-hub:org/repo@revision``, or a local folder with ``config.json`` and
            ``model.safetensors``, given as a path: a ``Path``, absolute, or with a separator
            (``./name``), or with the ``local-dir:`` prefix. A bare name always means the
            registered model, even where a folder of that name exists.
            :meth:`TopoAudioModel.from_pretrained` is the same function.
        revision: Hub branch, tag or commit (overrides a registry entry's pinned revision).
        cache_dir: Hub cache folder.
        local_files_only: use the cache only, never the network.
        force_download: download again even if cached.
        token: Hub token (default: the usual places).
        map_location: device for the weights.

    Returns:
        The model in ``eval()`` mode.

    Raises:
        ValueError: an unknown registry name, or a ``map_location`` that is not an available
            device (checked before anything is downloaded).
    """
    device = resolve_device(map_location)
    hub = HubOptions(revision, cache_dir, local_files_only, force_download, token)
    folder, label = locate_model_files(name_or_path, hub)
    entry = _REGISTRY.get(str(name_or_path))
    shipped = entry is not None and entry.sha256 is not None and folder == entry.local_path()
    sha256 = entry.sha256 if shipped else None
    return TopoAudioModel.from_folder(folder, device, label=label, sha256=sha256)


def create_model(name: str, pretrained: bool = False, **kwargs: Any) -> TopoAudioModel:
    """Build a model by registry name or architecture name (timm-style).

    Args:
        name: a registry name (``list_models()``) or an architecture (``list_architectures()``).
        pretrained: load the registry entry's weights (see :func:`from_pretrained`).
        **kwargs: without ``pretrained``, configuration overrides: any ``config.json`` key
            (``heads``, ``cochleagram``, ``topography``, ...); other keywords go to the
            architecture (``width=32``). With ``pretrained``, passed to :func:`from_pretrained`.

    Examples:
        ``create_model("cochresnet18", heads={"word": 35}, width=32)``;
        ``create_model("topoaudio-cochresnet18w32-tau25", pretrained=True)``.
    """
    if pretrained:
        return from_pretrained(name, **kwargs)
    if name in _REGISTRY:
        config = _REGISTRY[name].resolved_config()
    elif name in list_architectures():
        config = {"architecture": name, "heads": {}}
    else:
        known = sorted(_REGISTRY) + list_architectures()
        raise ValueError(f"unknown model or architecture {name!r}.{_suggest(name, known)}")
    for key, value in kwargs.items():
        if key in TOP_LEVEL_KEYS:
            config[key] = value
        else:
            config.setdefault("architecture_kwargs", {})[key] = value
    return TopoAudioModel(config)


def _register_paper_models() -> None:
    """The paper's configurations (no public weights): build them untrained to train them."""
    paper_data = "Word-Speaker-Noise (not public): speech words mixed with AudioSet backgrounds"
    for arch, label in (("cochresnet50", "cochresnet50"), ("ast_coch", "ast")):
        for tau in (0, 5, 25, 50, 100):
            name = f"baseline-{label}" if tau == 0 else f"topoaudio-{label}-tau{tau}"
            register_model(
                ModelEntry(
                    name=name,
                    config={
                        "name": name,
                        "architecture": arch,
                        "heads": WSN_HEADS,
                        "topography": {"tau": float(tau), "factor": 4.0},
                        "training_data": {"description": paper_data},
                    },
                    description=f"TopoAudio paper configuration, {arch}, τ={tau} (untrained)",
                    tags=("paper",),
                )
            )


_SYNTHETIC_WSN = (
    "synthetic Word-Speaker-Noise: espeak-ng words (Speech Commands layout) mixed with "
    "FluidSynth FluidR3_GM notes (NSynth layout); not the paper's data"
)
_SOUND_WORLD_WSN = (
    "Word-Speaker-Noise of the offline sound world: espeak-ng and Flite words (Speech Commands "
    "layout; Festival and Flite rms held out) over real recordings and General-MIDI music in 8 "
    "sound categories, with augmentation; not the paper's data"
)


@dataclass(frozen=True)
class _CpuModel:
    """A model trained here on CPU and shipped in a ``checkpoints/`` folder."""

    width: int
    tau: int
    sha256: str  # of its model.safetensors (``sha256sum``), verified on every load
    data: str
    tags: tuple[str, ...]
    schedule: str = ""  # how long and in what precision it was trained, if not the first recipe


_LONG = "1 500 steps in bf16"
_CPU_MODELS = {
    "baseline-cochresnet18w32": _CpuModel(
        32, 0, "f939d6b2a080b65fe884a3323f8b07678ab653a972a06d0fe27503627b2523da",
        _SYNTHETIC_WSN, ("cpu", "shipped", "small"),
    ),
    "topoaudio-cochresnet18w32-tau5": _CpuModel(
        32, 5, "961daeeaa86f50dda4e2b27e10d192e94f484e879678a28fcb5c6d6208a5b880",
        _SYNTHETIC_WSN, ("cpu", "shipped", "small"),
    ),
    "topoaudio-cochresnet18w32-tau25": _CpuModel(
        32, 25, "9e55145260b7e332a5b4b703fe03529db3f3fc10308464e99e22f32f957cff00",
        _SYNTHETIC_WSN, ("cpu", "shipped", "small"),
    ),
    "baseline-cochresnet18w64": _CpuModel(  # float16 storage
        64, 0, "138da05c5c3f5eead286c7053562f0b73b5777bc08b0166d1e05c1eb6666281d",
        _SOUND_WORLD_WSN, ("cpu", "shipped", "full-width"),
    ),
    "topoaudio-cochresnet18w64-tau25": _CpuModel(
        64, 25, "b4fc64e0395726538dc684e7ccf2198dfa432940430e997ffe9a8873be01ff5e",
        _SOUND_WORLD_WSN, ("cpu", "shipped", "full-width"),
    ),
    "topoaudio-cochresnet18w64-tau5": _CpuModel(  # float16 storage
        64, 5, "27b6e1c5e6dbd782e63491213048bf24f14097d27ef18b7b3bd6f3d20ee19c87",
        _SOUND_WORLD_WSN, ("cpu", "shipped", "full-width"),
    ),
    "baseline-cochresnet18w64-long": _CpuModel(  # float16 storage, in the wheel
        64, 0, "a08d402aa91406890cff0ab21f7163763a8e8eeec67ef7a3d2d79a007235343e",
        _SOUND_WORLD_WSN, ("cpu", "shipped", "full-width"), _LONG,
    ),
    "topoaudio-cochresnet18w64-tau25-long": _CpuModel(  # float16 storage
        64, 25, "0ade8d32c14601ad1b270bcc82586ce2b8901d1c4ad6cd992639cc131ed3263a",
        _SOUND_WORLD_WSN, ("cpu", "shipped", "full-width"), _LONG,
    ),
    "topoaudio-cochresnet18w64-tau5-long": _CpuModel(  # float16 storage, in the wheel: the default
        64, 5, "ab2a9c36618b9cca560c4330e8e0c43601a27be73e20de04cb276c9f43044a56",
        _SOUND_WORLD_WSN, ("cpu", "shipped", "full-width"), _LONG,
    ),
}  # fmt: skip


def _register_cpu_models() -> None:
    """The models trained here on CPU and shipped in ``checkpoints/`` (not on the Hub yet)."""
    for name, model in _CPU_MODELS.items():
        kind = "non-topographic baseline" if model.tau == 0 else f"TopoAudio, τ={model.tau}"
        register_model(
            ModelEntry(
                name=name,
                config={
                    "name": name,
                    "architecture": "cochresnet18",
                    "architecture_kwargs": {"width": model.width},
                    "heads": {},
                    "topography": {"tau": float(model.tau), "factor": 2.0},
                    "training_data": {"description": model.data},
                },
                local_dir=name,
                sha256=model.sha256,
                description=f"CochResNet18 width {model.width}, {kind}; trained on CPU"
                + (f" for {model.schedule}" if model.schedule else "")
                + f" on {model.data}",
                tags=model.tags,
            )
        )


_register_paper_models()
_register_cpu_models()
