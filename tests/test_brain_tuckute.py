"""The Tuckute et al. (2023) layout, written synthetically: .npy files, a .mat, a tar, a pickle."""

import pickle
import tarfile

import numpy as np
import pytest
import scipy.io

from topoaudio_zoo.brain import NH2015_SOUNDS, load_tuckute
from topoaudio_zoo.brain import tuckute as tuckute_module
from topoaudio_zoo.data.download import DatasetNotFoundError, Remote

COMPONENTS = ["lowfreq", "highfreq", "envsounds", "pitch", "speech", "music"]


class _Explodes:
    """Unpickling this runs code: proves whether a pickle was read."""

    def __reduce__(self):
        return (_boom, ())


def _boom():
    raise RuntimeError("the ROI pickle was unpickled")


def _cell(strings, shape):
    cell = np.empty(shape, dtype=object)
    for index, text in zip(np.ndindex(*shape), strings, strict=True):
        cell[index] = np.array([text])
    return cell


def write_tuckute(root, n_voxels=12, seed=0, roi_table=None, b2021_table=None):
    """``root/neural/{NH2015,B2021,NH2015comp}`` in the released layout; returns the order."""
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(NH2015_SOUNDS))
    neural = root / "neural"
    for folder in ("NH2015", "B2021", "NH2015comp"):
        (neural / folder).mkdir(parents=True)
    stim_meta = np.array(
        [(f"{n}.wav".encode(), i) for i, n in enumerate(order)],
        dtype=[("stim_name", "S60"), ("index", "i4")],
    )
    np.save(neural / "NH2015" / "neural_stim_meta.npy", stim_meta)
    voxels = rng.standard_normal((165, n_voxels, 3))
    n_reps = np.array([3] * (n_voxels - 2) + [2, 1])
    voxels[:, n_voxels - 2 :, 2] = np.nan  # missing repetitions of the dropped voxels
    meta = np.zeros(
        n_voxels,
        dtype=[("voxel_id", "i8"), ("subj_idx", "i4"), ("n_reps", "i4"), ("hemi", "S2")],
    )
    meta["voxel_id"] = 1000 + np.arange(n_voxels)
    meta["subj_idx"] = np.arange(n_voxels) % 3
    meta["n_reps"] = n_reps
    np.save(neural / "NH2015" / "voxel_features_array.npy", voxels)
    np.save(neural / "NH2015" / "voxel_features_meta.npy", meta)
    np.save(neural / "B2021" / "voxel_features_array.npy", rng.standard_normal((192, 7, 3)))
    np.save(neural / "B2021" / "voxel_features_meta.npy", np.arange(7) + 50)
    b2021_names = [*order, *(f"stim9{i:02d}_extra" for i in range(27))]
    scipy.io.savemat(
        neural / "B2021" / "stim_info_v4.mat",
        {"stim_info": {"stim_names": _cell(b2021_names, (192, 1))}},
    )
    components = rng.standard_normal((165, 6))
    scipy.io.savemat(
        neural / "NH2015comp" / "components.mat",
        {
            "R": components,
            "component_names": _cell(COMPONENTS, (6, 1)),
            "stim_names": _cell(sorted(order), (1, 165)),
        },
    )
    for folder, table in (("NH2015", roi_table), ("B2021", b2021_table)):
        with open(neural / folder / "df_roi_meta.pkl", "wb") as f:
            pickle.dump(table if table is not None else _Explodes(), f)
    return order, voxels, components


def test_nh2015_voxels_with_three_repetitions(tmp_path):
    order, voxels, _ = write_tuckute(tmp_path)
    targets = load_tuckute("nh2015", tmp_path)  # the pickle is not read: it would raise
    assert targets.sounds == order
    assert targets.responses.shape == (165, 10, 3) and targets.voxelwise
    np.testing.assert_array_equal(targets.responses, voxels[:, :10])
    assert targets.target_names[0] == "1000"
    np.testing.assert_array_equal(targets.participants, np.arange(10) % 3)
    assert list(targets.rois) == ["all"]


def test_components_are_put_in_the_neural_order(tmp_path):
    order, _, components = write_tuckute(tmp_path)
    targets = load_tuckute("nh2015-components", tmp_path)
    assert targets.sounds == order and targets.target_names == COMPONENTS
    rows = [sorted(order).index(s) for s in order]
    np.testing.assert_array_equal(targets.responses, components[rows])


def test_roi_pickle_only_on_opt_in(tmp_path):
    labels = np.array(["tonotopic", None, "music", "music"] * 3, dtype=object)
    table = {
        "voxel_id": 1000 + np.arange(12),
        "subj_idx": np.arange(12) % 4,
        "roi_label_general": labels,
    }
    b2021_table = {"subj_idx": np.arange(7) % 2, "roi_label_general": np.array([None] * 7)}
    write_tuckute(tmp_path, roi_table=table, b2021_table=b2021_table)
    without = load_tuckute("nh2015", tmp_path)
    assert list(without.rois) == ["all"]
    targets = load_tuckute("nh2015", tmp_path, roi_pickle=True)
    assert sorted(targets.rois) == ["all", "music", "tonotopic"]
    np.testing.assert_array_equal(targets.rois["music"], labels[:10] == "music")
    b2021 = load_tuckute("b2021", tmp_path, roi_pickle=True)
    assert b2021.responses.shape == (165, 7, 3)
    np.testing.assert_array_equal(b2021.participants, np.arange(7) % 2)


def test_b2021_participants_need_the_opt_in(tmp_path):
    write_tuckute(tmp_path)
    with pytest.raises(ValueError, match="roi_pickle=True"):
        load_tuckute("b2021", tmp_path)


def test_object_arrays_are_refused(tmp_path):
    write_tuckute(tmp_path)
    path = tmp_path / "neural" / "NH2015" / "voxel_features_meta.npy"
    np.save(path, np.array([_Explodes()], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="object arrays are refused"):
        load_tuckute("nh2015", tmp_path)


def test_unknown_dataset_and_missing_files_are_named(tmp_path):
    with pytest.raises(ValueError, match="'nh2016'"):
        load_tuckute("nh2016", tmp_path)
    with pytest.raises(DatasetNotFoundError, match=r"voxel_features_array\.npy") as err:
        load_tuckute("nh2015", tmp_path)
    assert "mcdermottlab.mit.edu" in str(err.value)


def test_tar_is_downloaded_extracted_and_its_hash_recorded(tmp_path, monkeypatch):
    source = tmp_path / "source"
    order, _, _ = write_tuckute(source / "data")
    archive = tmp_path / "data.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(source / "data", arcname="data")
    monkeypatch.setattr(
        tuckute_module, "TUCKUTE_REMOTE", Remote(url=archive.as_uri(), filename="data.tar")
    )
    cache = tmp_path / "cache"
    targets = load_tuckute("nh2015", cache, download=True)
    assert targets.sounds == order
    assert "bytes" in (cache / "data.tar.sha256").read_text()
