"""fMRI responses as released by Tuckute, Feather, Boebinger & McDermott (2023).

One tar (:data:`TUCKUTE_REMOTE`, ~180 MB, no published checksum: its size and SHA-256 are
recorded beside it on first download) holds, under ``neural/``::

    NH2015/neural_stim_meta.npy       structured; first field b'stim5_alarm_clock.wav' per row:
                                      the row order of every neural array
    NH2015/voxel_features_array.npy   (165 sounds, voxels, 3 repetitions)
    NH2015/voxel_features_meta.npy    structured: voxel_id, subj_idx, n_reps, ... (n_reps == 3
                                      kept: 7 694 voxels, 8 participants)
    B2021/voxel_features_array.npy    (192 sounds, 26 792 voxels, 3); the first 165 sounds are
                                      NH2015's in the same order
    B2021/voxel_features_meta.npy     voxel ids
    B2021/stim_info_v4.mat            stim_info.stim_names
    NH2015comp/components.mat         as in the NH2015 repository
    <dataset>/df_roi_meta.pkl         pandas pickle: per-voxel subj_idx, roi_label_general, ...

Arrays are read with ``allow_pickle=False``. The ROI table is a pickle, and unpickling runs
code from the file: it is read only when asked (``roi_pickle=True``, command line
``--trust-roi-pickle``), and needs pandas. NH2015 participants come from the voxel metadata;
B2021's live only in the ROI table, so B2021 needs ``roi_pickle=True``.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import scipy.io

from ..atomic import atomic_write_text
from ..data.download import DatasetNotFoundError, Remote, fetch_and_extract, file_digest
from .nh2015 import matlab_strings, read_components
from .targets import BrainTargets

__all__ = ["TUCKUTE_REMOTE", "load_tuckute", "read_roi_table"]

TUCKUTE_REMOTE = Remote(
    url="https://mcdermottlab.mit.edu//tuckute_feather_2023/data.tar",
    filename="data.tar",
    checksum_source="none published; recorded in data.tar.sha256 on first download",
)
_FOLDERS = {"nh2015": "NH2015", "b2021": "B2021", "nh2015-components": "NH2015comp"}
_REQUIRED = {
    "nh2015": ["voxel_features_array.npy", "voxel_features_meta.npy"],
    "b2021": ["voxel_features_array.npy", "voxel_features_meta.npy", "stim_info_v4.mat"],
    "nh2015-components": ["components.mat"],
}


def _neural_root(root: Path) -> Path:
    """``root/neural``, or ``root/data/neural`` (the tar's own top folder)."""
    for candidate in (root / "neural", root / "data" / "neural"):
        if candidate.is_dir():
            return candidate
    return root / "neural"


def _download(root: Path) -> None:
    fetch_and_extract(TUCKUTE_REMOTE, root)
    archive = root / TUCKUTE_REMOTE.filename
    record = root / f"{TUCKUTE_REMOTE.filename}.sha256"
    if not record.exists():
        atomic_write_text(
            record,
            f"{file_digest(archive)}  {archive.name}  ({archive.stat().st_size} bytes; recorded "
            "on first download, no checksum is published)\n",
        )


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as err:
        raise ValueError(f"{path}: not a plain .npy array (object arrays are refused)") from err


def read_stim_order(neural: Path) -> list[str]:
    """Stimulus names (no ``.wav``) in the row order of the neural data."""
    path = neural / "NH2015" / "neural_stim_meta.npy"
    meta = _load_npy(path)
    if meta.dtype.names is None:
        raise ValueError(f"{path}: expected a structured array, got dtype {meta.dtype}")
    first = meta[meta.dtype.names[0]]
    names = [v.decode() if isinstance(v, bytes) else str(v) for v in first]
    return [n[: -len(".wav")] if n.endswith(".wav") else n for n in names]


def read_roi_table(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The ROI pickle as columns. **Unpickling runs code from the file**: trusted files only.

    Returns:
        column name → ``(rows,)`` array (a pandas DataFrame's columns, or a dict's values).
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            table = pickle.load(f)  # the caller opted in: see the module docs
    except ModuleNotFoundError as err:
        raise ValueError(f"{path}: reading this pandas pickle needs {err.name} installed") from err
    columns = table.columns if hasattr(table, "columns") else list(table)
    return {str(c): np.asarray(table[c]) for c in columns}


def _rois(table: dict[str, np.ndarray], voxel_ids: np.ndarray, path: Path) -> tuple:
    """Participants and ROI masks for ``voxel_ids`` from the ROI table."""
    if "voxel_id" in table:
        row = {int(v): i for i, v in enumerate(table["voxel_id"])}
        missing = [int(v) for v in voxel_ids if int(v) not in row]
        if missing:
            raise ValueError(f"{path}: no row for voxel ids {missing[:10]}")
        index = np.array([row[int(v)] for v in voxel_ids])
    elif len(next(iter(table.values()))) == len(voxel_ids):
        index = np.arange(len(voxel_ids))
    else:
        raise ValueError(f"{path}: no voxel_id column and not one row per voxel")
    participants = table["subj_idx"][index] if "subj_idx" in table else None
    rois = {}
    if "roi_label_general" in table:
        labels = table["roi_label_general"][index]
        for label in sorted({str(v) for v in labels if isinstance(v, str) and v}):
            rois[label] = np.array([v == label for v in labels])
    return participants, rois


def load_tuckute(
    dataset: str,
    data_dir: str | os.PathLike,
    download: bool = False,
    roi_pickle: bool = False,
) -> BrainTargets:
    """One dataset of the Tuckute et al. (2023) release, rows in the neural data's sound order.

    Args:
        dataset: ``"nh2015"`` (7 694 voxels with 3 repetitions), ``"b2021"`` (26 792 voxels,
            the 165 NH2015 sounds) or ``"nh2015-components"`` (the six components).
        data_dir: the folder holding ``neural/`` (or the extracted tar's ``data/neural/``).
        download: fetch and extract :data:`TUCKUTE_REMOTE` into ``data_dir`` when missing.
        roi_pickle: also read ``df_roi_meta.pkl`` (**runs code from the file**; needs pandas)
            for ROIs (and, for B2021, participants).

    Raises:
        ValueError: an unknown dataset, malformed files, sound lists that differ, NaN in the
            kept voxels, or B2021 without ``roi_pickle``.
        DatasetNotFoundError: listing the missing files and the URL.
    """
    if dataset not in _FOLDERS:
        raise ValueError(f"dataset: unknown {dataset!r}; expected one of {sorted(_FOLDERS)}")
    root = Path(data_dir)
    neural = _neural_root(root)
    folder = neural / _FOLDERS[dataset]
    needed = [neural / "NH2015" / "neural_stim_meta.npy"]
    needed += [folder / name for name in _REQUIRED[dataset]]
    if roi_pickle and dataset != "nh2015-components":
        needed.append(folder / "df_roi_meta.pkl")
    if download and not all(p.exists() for p in needed):
        _download(root)
        neural = _neural_root(root)
        folder = neural / _FOLDERS[dataset]
        needed = [neural / p.relative_to(p.parents[1]) for p in needed]
    missing = [p for p in needed if not p.exists()]
    if missing:
        raise DatasetNotFoundError(
            "\n".join(
                [f"Tuckute et al. 2023 {dataset} data not found under {root}: missing"]
                + [f"  {p}" for p in missing]
                + [f"Download and extract into {root}:", f"  {TUCKUTE_REMOTE.url}"]
                + ["or pass download=True (command line: --download)."]
            )
        )
    sounds = read_stim_order(neural)
    if dataset == "nh2015-components":
        path = folder / "components.mat"
        components, names, stim_names = read_components(path)
        lost = sorted(set(sounds) - set(stim_names))
        if lost:
            raise ValueError(f"{path}: sounds of the neural data missing from stim_names: {lost}")
        rows = [stim_names.index(s) for s in sounds]
        return BrainTargets(dataset, sounds, components[rows], names)
    array_path = folder / "voxel_features_array.npy"
    responses = _load_npy(array_path).astype(np.float64)
    meta = _load_npy(folder / "voxel_features_meta.npy")
    if dataset == "b2021":
        info_path = folder / "stim_info_v4.mat"
        info = scipy.io.loadmat(info_path)
        if "stim_info" not in info or "stim_names" not in info["stim_info"].dtype.names:
            raise ValueError(f"{info_path}: no stim_info.stim_names")
        b2021 = matlab_strings(info["stim_info"]["stim_names"][0, 0], "stim_names", info_path)
        if b2021[: len(sounds)] != sounds:
            raise ValueError(
                f"{info_path}: the first {len(sounds)} sounds are not NH2015's in the order of "
                "neural_stim_meta.npy"
            )
        responses = responses[: len(sounds)]
        voxel_ids = np.asarray(meta if meta.dtype.names is None else meta["voxel_id"]).ravel()
        participants = None
    else:
        if meta.dtype.names is None or not {"n_reps", "subj_idx", "voxel_id"} <= set(
            meta.dtype.names
        ):
            raise ValueError(
                f"{folder / 'voxel_features_meta.npy'}: needs voxel_id, subj_idx, n_reps"
            )
        kept = meta["n_reps"] == 3
        responses, meta = responses[:, kept], meta[kept]
        voxel_ids, participants = meta["voxel_id"], np.asarray(meta["subj_idx"])
    if responses.ndim != 3 or responses.shape[:2] != (len(sounds), len(voxel_ids)):
        raise ValueError(
            f"{array_path}: shape {responses.shape}, expected ({len(sounds)} sounds, "
            f"{len(voxel_ids)} voxels, 3)"
        )
    rois: dict[str, np.ndarray] = {"all": np.ones(len(voxel_ids), dtype=bool)}
    if roi_pickle:
        table_path = folder / "df_roi_meta.pkl"
        table_participants, table_rois = _rois(read_roi_table(table_path), voxel_ids, table_path)
        participants = participants if participants is not None else table_participants
        rois.update(table_rois)
    if participants is None:
        raise ValueError(
            f"{dataset}: the participant of each voxel is only in {folder / 'df_roi_meta.pkl'}, "
            "a pickle: pass roi_pickle=True (command line --trust-roi-pickle) to read it"
        )
    return BrainTargets(
        dataset,
        sounds,
        responses,
        [str(int(v)) for v in voxel_ids],
        participants=np.asarray(participants),
        rois=rois,
    )
