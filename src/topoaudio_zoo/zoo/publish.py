"""Pushing a zoo model folder to the Hugging Face Hub, after checking that it loads."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import HfApi, constants
from huggingface_hub.errors import HfHubHTTPError

from .hub import CONFIG_FILE, WEIGHTS_FILE, fetch_model_files
from .model import TopoAudioModel

__all__ = ["CARD_FILE", "PUBLISHED_FILES", "PublishError", "Published", "publish_folder"]

CARD_FILE = "README.md"
PUBLISHED_FILES = (CONFIG_FILE, WEIGHTS_FILE, CARD_FILE)
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class PublishError(ValueError):
    """The Hub refused the upload (authentication, permissions, repository, revision)."""


@dataclass(frozen=True)
class Published:
    """What :func:`publish_folder` pushed.

    Attributes:
        repo_url: the repository's URL.
        commit: the new commit's SHA (pin it as a registry entry's ``revision``).
        commit_url: the commit's URL.
        files: the files uploaded.
        skipped: other files of the folder, not uploaded.
    """

    repo_url: str
    commit: str
    commit_url: str
    files: tuple[str, ...]
    skipped: tuple[str, ...]


def publish_folder(
    folder: str | os.PathLike,
    repo_id: str,
    revision: str | None = None,
    private: bool = False,
    token: str | None = None,
    commit_message: str | None = None,
) -> Published:
    """Check that ``folder`` holds a loadable zoo model, then push it to ``repo_id``.

    Only ``config.json``, ``model.safetensors`` and ``README.md`` are uploaded (never a
    checkpoint or other stray file of the folder), in one commit. The repository is created if
    needed (``private`` applies then), and so is the branch ``revision``.

    Args:
        folder: a folder written by ``save_pretrained`` or ``topoaudio-zoo export``.
        repo_id: ``org/name``.
        revision: the branch to commit to (default ``main``).
        private: create the repository private.
        token: Hub token with write access; default: huggingface_hub's own resolution
            (``HF_TOKEN``, then the token saved by ``hf auth login``).
        commit_message: default ``"Upload <name> (topoaudio-zoo <version>)"``.

    Raises:
        ModelNotAvailableError: the folder lacks the model files.
        ValueError, WeightsError: the folder's model does not load strictly.
        PublishError: the Hub refused a request (the message says which and why).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such model folder")
    if not _REPO_ID.match(repo_id):
        raise ValueError(f"repo_id: expected ORG/NAME, got {repo_id!r}")
    fetch_model_files(folder, label=str(folder))
    if not (folder / CARD_FILE).is_file():
        raise FileNotFoundError(
            f"{folder}: no {CARD_FILE} model card; write the folder with save_pretrained or "
            "`topoaudio-zoo export`, which generate it"
        )
    model = TopoAudioModel.from_folder(folder, label=str(folder))
    name = model.config["name"] or model.config["architecture"]
    message = commit_message or f"Upload {name} (topoaudio-zoo {model.config['library_version']})"
    skipped = tuple(
        sorted(
            p.relative_to(folder).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and p.relative_to(folder).as_posix() not in PUBLISHED_FILES
        )
    )
    api = HfApi(token=token)
    step = "creating the repository"
    try:
        repo_url = api.create_repo(repo_id, private=private, exist_ok=True)
        if revision not in (None, constants.DEFAULT_REVISION):
            step = f"creating the branch {revision!r}"
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        step = "uploading"
        info = api.upload_folder(
            folder_path=folder,
            repo_id=repo_id,
            revision=revision,
            allow_patterns=list(PUBLISHED_FILES),
            commit_message=message,
        )
    except HfHubHTTPError as err:
        raise PublishError(
            f"publishing {folder} to {repo_id} on {api.endpoint}: {step} failed ({err}). "
            "Check that the token (--token, HF_TOKEN or `hf auth login`) has write access to "
            f"{repo_id.split('/')[0]!r}."
        ) from err
    return Published(
        repo_url=str(repo_url),
        commit=info.oid,
        commit_url=info.commit_url,
        files=PUBLISHED_FILES,
        skipped=skipped,
    )
