"""Fetching a model's files from a local folder or the Hugging Face Hub (cache, revision,
offline mode)."""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

from huggingface_hub import constants, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

__all__ = [
    "CONFIG_FILE",
    "WEIGHTS_FILE",
    "HubOptions",
    "ModelNotAvailableError",
    "fetch_model_files",
]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


class ModelNotAvailableError(FileNotFoundError):
    """A model's files are neither in the given folder nor reachable/cached on the Hub."""


PICKLED_WEIGHTS = ("pytorch_model.bin", "model.pt", "model.pth", "model.ckpt")
SAFETENSORS_ONLY = (
    f"the zoo reads weights only from {WEIGHTS_FILE} and never unpickles pytorch_model.bin, "
    ".pt or .ckpt files; convert a Lightning checkpoint with `topoaudio-zoo export`"
)


def _check_folder(folder: Path, label: str) -> Path:
    missing = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if not (folder / name).is_file()]
    if missing:
        pickled = [name for name in PICKLED_WEIGHTS if (folder / name).is_file()]
        hint = f"; it holds {', '.join(pickled)}: {SAFETENSORS_ONLY}" if pickled else ""
        raise ModelNotAvailableError(
            f"{label}: the folder {folder} lacks {', '.join(missing)} (a zoo model folder holds "
            f"{CONFIG_FILE} and {WEIGHTS_FILE}, as written by save_pretrained / "
            f"`topoaudio-zoo export`){hint}"
        )
    return folder


@dataclasses.dataclass(frozen=True)
class HubOptions:
    """How to fetch a model from the Hugging Face Hub: one object passed through the zoo.

    Args:
        revision: branch, tag or commit of the Hub repository (``None``: ``main``, or a
            registry entry's pinned commit).
        cache_dir: Hub cache folder (default: ``HF_HUB_CACHE`` / ``~/.cache/huggingface/hub``).
        local_files_only: never touch the network; use the cache only (also implied by
            ``HF_HUB_OFFLINE=1``).
        force_download: download again even if cached.
        token: Hub token (default: the usual places — ``HF_TOKEN``, ``hf auth login``).
    """

    revision: str | None = None
    cache_dir: str | os.PathLike | None = None
    local_files_only: bool = False
    force_download: bool = False
    token: str | bool | None = None

    def with_revision(self, revision: str | None) -> HubOptions:
        """The same options at another revision."""
        return dataclasses.replace(self, revision=revision)


def fetch_model_files(
    source: str | os.PathLike, hub: HubOptions | None = None, label: str | None = None
) -> Path:
    """Return a local folder holding ``config.json`` and ``model.safetensors``.

    Args:
        source: a local folder, or a Hub repository id ``org/name``.
        hub: how to fetch from the Hub (ignored for a folder); default :class:`HubOptions`.
        label: how to name the model in error messages (e.g. its registry name).

    Raises:
        ModelNotAvailableError: with what was looked for and how to fix it.
    """
    label = label or str(source)
    folder = Path(source).expanduser()
    if folder.is_dir():
        return _check_folder(folder, label)
    hub = hub or HubOptions()
    revision = hub.revision
    repo_id = str(source)
    where = f"{repo_id}@{revision or 'main'} on {constants.ENDPOINT}"
    filename = CONFIG_FILE
    download = functools.partial(hf_hub_download, repo_id, cache_dir=hub.cache_dir, token=hub.token)
    try:
        # Resolves the revision to a commit and records it in the cache (offline use).
        download(
            CONFIG_FILE,
            revision=revision,
            local_files_only=hub.local_files_only,
            force_download=hub.force_download,
        )
        # That commit, from huggingface_hub's metadata of the file just cached (no request).
        cached = download(CONFIG_FILE, revision=revision, local_files_only=True, dry_run=True)
        commit, config_path = cached.commit_hash, Path(cached.local_path)
        # The weights of the very commit the config came from, even if the branch moves on.
        filename = WEIGHTS_FILE
        download(
            WEIGHTS_FILE,
            revision=commit,
            local_files_only=hub.local_files_only,
            force_download=hub.force_download,
        )
    except (LocalEntryNotFoundError, OfflineModeIsEnabled) as err:
        cache = Path(hub.cache_dir or constants.HF_HUB_CACHE)
        name = f"hf-hub:{repo_id}" if label == repo_id else label
        raise ModelNotAvailableError(
            f"{label}: {where} is not in the local cache ({cache}) and it cannot be downloaded "
            f"now (offline mode, local_files_only=True, or no connection). To fix: download it "
            f"once with network access (`topoaudio-zoo download {name}` or "
            f"topoaudio_zoo.from_pretrained({name!r})), pass the cache_dir that holds it, or "
            "pass a local folder with config.json and model.safetensors."
        ) from err
    except RepositoryNotFoundError as err:
        raise ModelNotAvailableError(
            f"{label}: no repository {repo_id!r} on {constants.ENDPOINT} (or it is private: "
            "log in with `hf auth login`, set HF_TOKEN or pass token=...)"
        ) from err
    except RevisionNotFoundError as err:
        raise ModelNotAvailableError(
            f"{label}: the repository {repo_id!r} has no revision {revision!r}"
        ) from err
    except EntryNotFoundError as err:
        hint = f" ({SAFETENSORS_ONLY})" if filename == WEIGHTS_FILE else ""
        raise ModelNotAvailableError(
            f"{label}: {where} has no {filename}; it is not a topoaudio-zoo model repository{hint}"
        ) from err
    except HfHubHTTPError as err:
        raise ModelNotAvailableError(f"{label}: downloading from {where} failed: {err}") from err
    return config_path.parent
