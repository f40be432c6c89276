"""The Hub path for real: the huggingface_hub client against a Hub-compatible server on
127.0.0.1 (``fake_hub.FakeHub``): downloads into a temporary cache, revision pinning, offline
use, errors for corrupt or mismatched files, and ``publish`` / ``download`` uploads."""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from pathlib import Path

import pytest
import torch
from fake_hub import FakeHub, git_blob_sha1, point_client_at
from huggingface_hub import constants
from safetensors.torch import load_file, save_file
from zoo_helpers import TINY_CONFIG, assert_same_weights, saved_model

from topoaudio_zoo.cli import main
from topoaudio_zoo.zoo import (
    ModelEntry,
    ModelNotAvailableError,
    WeightsError,
    create_model,
    from_pretrained,
    register_model,
    registry,
)
from topoaudio_zoo.zoo import hub as hub_module

TOKEN = "hf_fake_write_token"


@pytest.fixture
def hub(monkeypatch, tmp_path) -> FakeHub:
    """A running fake Hub (uploads need ``TOKEN``), the client pointed at it, an empty cache."""
    server = FakeHub(tokens={TOKEN}).start()
    point_client_at(monkeypatch, server.url, tmp_path / "hf-cache", tmp_path / "hf-home")
    yield server
    server.stop()


@pytest.fixture
def scratch_registry(monkeypatch):
    """Registrations made in a test are dropped after it."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def gets(hub: FakeHub) -> list[str]:
    """File downloads the server saw (from the repository or the CDN)."""
    return [r.path for r in hub.requests if r.method == "GET" and not r.path.startswith("/api/")]


# ------------------------------------------------------------------------------- downloading
def test_first_download_fills_the_cache_in_the_hub_layout(hub, tmp_path):
    expected = saved_model(tmp_path / "model", seed=0)
    sha = hub.commit_folder("org/tiny", tmp_path / "model")

    model = from_pretrained("hf-hub:org/tiny")

    assert_same_weights(model, expected)
    assert model.config == expected.config and not model.training
    repo = tmp_path / "hf-cache" / "models--org--tiny"
    assert (repo / "refs" / "main").read_text() == sha
    snapshot = repo / "snapshots" / sha
    config = (tmp_path / "model" / "config.json").read_bytes()
    weights = (tmp_path / "model" / "model.safetensors").read_bytes()
    # Blobs are named by ETag: the git SHA-1 of a regular file, the SHA-256 of an LFS file.
    for name, content, blob in [
        ("config.json", config, git_blob_sha1(config)),
        ("model.safetensors", weights, hashlib.sha256(weights).hexdigest()),
    ]:
        assert (snapshot / name).is_symlink()
        assert (snapshot / name).resolve() == (repo / "blobs" / blob).resolve()
        assert (repo / "blobs" / blob).read_bytes() == content
    assert gets(hub) == [
        "/org/tiny/resolve/main/config.json",
        f"/cdn/{hashlib.sha256(weights).hexdigest()}",
    ]
    heads = [r.path for r in hub.requests if r.method == "HEAD"]
    assert heads == [
        "/org/tiny/resolve/main/config.json",
        f"/org/tiny/resolve/{sha}/model.safetensors",
    ]

    again = from_pretrained("hf-hub:org/tiny")
    assert_same_weights(again, expected)
    assert len(gets(hub)) == 2, "a cached model is not downloaded again"


def test_explicit_cache_dir_is_used(hub, tmp_path):
    saved_model(tmp_path / "model")
    hub.commit_folder("org/tiny", tmp_path / "model")
    from_pretrained("hf-hub:org/tiny", cache_dir=tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "models--org--tiny" / "refs" / "main").is_file()
    assert not (tmp_path / "hf-cache" / "models--org--tiny").exists()


@pytest.mark.slow
def test_revisions_by_branch_tag_and_commit(hub, tmp_path, scratch_registry):
    first = saved_model(tmp_path / "a", seed=1)
    second = saved_model(tmp_path / "b", seed=2)
    other = saved_model(tmp_path / "c", seed=3)
    with pytest.raises(AssertionError):
        assert_same_weights(first, second)
    sha_first = hub.commit_folder("org/tiny", tmp_path / "a")
    hub.tag("org/tiny", "v1", sha_first)
    sha_second = hub.commit_folder("org/tiny", tmp_path / "b")
    hub.commit_folder("org/tiny", tmp_path / "c", branch="experiment")

    assert_same_weights(from_pretrained("hf-hub:org/tiny"), second)
    assert_same_weights(from_pretrained("hf-hub:org/tiny", revision=sha_first), first)
    assert_same_weights(from_pretrained("hf-hub:org/tiny@v1"), first)
    assert_same_weights(from_pretrained(f"hf-hub:org/tiny@{sha_second}"), second)
    assert_same_weights(from_pretrained("hf-hub:org/tiny@experiment"), other)
    with pytest.raises(ValueError, match="conflicts"):
        from_pretrained("hf-hub:org/tiny@v1", revision="main")

    register_model(
        ModelEntry(name="tiny-pinned", config=TINY_CONFIG, hub_repo="org/tiny", revision=sha_first)
    )
    assert_same_weights(from_pretrained("tiny-pinned"), first)
    assert_same_weights(create_model("tiny-pinned", pretrained=True), first)
    assert_same_weights(from_pretrained("tiny-pinned", revision="main"), second)


@pytest.mark.slow
def test_weights_come_from_the_configs_commit_when_the_branch_moves(hub, tmp_path, monkeypatch):
    first = saved_model(tmp_path / "a", seed=1)
    saved_model(tmp_path / "b", seed=2)
    sha_first = hub.commit_folder("org/tiny", tmp_path / "a")
    real_download = hub_module.hf_hub_download

    def download_then_push(repo_id, filename, **kwargs):
        path = real_download(repo_id, filename, **kwargs)
        if filename == "config.json" and not kwargs.get("dry_run"):
            hub.commit_folder("org/tiny", tmp_path / "b")  # main moves on meanwhile
        return path

    monkeypatch.setattr(hub_module, "hf_hub_download", download_then_push)
    assert_same_weights(from_pretrained("hf-hub:org/tiny"), first)
    weights = [r.path for r in hub.requests if r.path.endswith("/model.safetensors")]
    assert weights == [f"/org/tiny/resolve/{sha_first}/model.safetensors"]


@pytest.mark.slow
def test_unknown_repository_revision_or_files(hub, tmp_path):
    saved_model(tmp_path / "model")
    hub.commit_folder("org/tiny", tmp_path / "model")
    hub.create_repo("org/empty")
    with pytest.raises(ModelNotAvailableError, match="no repository 'org/missing'"):
        from_pretrained("hf-hub:org/missing")
    with pytest.raises(ModelNotAvailableError, match="has no revision 'v9'"):
        from_pretrained("hf-hub:org/tiny@v9")
    with pytest.raises(ModelNotAvailableError, match=r"has no config\.json"):
        from_pretrained("hf-hub:org/empty")


# ---------------------------------------------------------------------------------- offline
@pytest.mark.slow
def test_cached_models_load_offline_and_with_the_server_gone(hub, tmp_path, scratch_registry):
    first = saved_model(tmp_path / "a", seed=1)
    second = saved_model(tmp_path / "b", seed=2)
    sha_first = hub.commit_folder("org/tiny", tmp_path / "a")
    hub.commit_folder("org/tiny", tmp_path / "b")
    register_model(
        ModelEntry(name="tiny-pinned", config=TINY_CONFIG, hub_repo="org/tiny", revision=sha_first)
    )
    from_pretrained("hf-hub:org/tiny")
    from_pretrained("tiny-pinned")
    seen = len(hub.requests)

    assert_same_weights(from_pretrained("hf-hub:org/tiny", local_files_only=True), second)
    assert_same_weights(from_pretrained("tiny-pinned", local_files_only=True), first)
    assert len(hub.requests) == seen, "local_files_only reached the server"

    hub.stop()
    assert_same_weights(from_pretrained("hf-hub:org/tiny"), second)
    assert_same_weights(from_pretrained("hf-hub:org/tiny", local_files_only=True), second)
    with pytest.MonkeyPatch.context() as offline:
        offline.setattr(constants, "HF_HUB_OFFLINE", True)
        assert_same_weights(from_pretrained("hf-hub:org/tiny"), second)
        assert_same_weights(from_pretrained("tiny-pinned"), first)
        assert_same_weights(from_pretrained(f"hf-hub:org/tiny@{sha_first}"), first)


def test_empty_cache_offline_names_the_model_and_the_fix(
    hub, tmp_path, monkeypatch, scratch_registry
):
    saved_model(tmp_path / "model")
    hub.commit_folder("org/tiny", tmp_path / "model")
    register_model(
        ModelEntry(name="tiny-on-hub", config=TINY_CONFIG, hub_repo="org/tiny", revision="main")
    )
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)

    with pytest.raises(ModelNotAvailableError) as error:
        from_pretrained("tiny-on-hub")
    message = str(error.value)
    assert message.startswith("tiny-on-hub: org/tiny@main")
    assert "not in the local cache" in message and str(tmp_path / "hf-cache") in message
    assert "`topoaudio-zoo download tiny-on-hub`" in message

    with pytest.raises(ModelNotAvailableError, match=r"hf-hub:org/tiny@v1: org/tiny@v1"):
        from_pretrained("hf-hub:org/tiny@v1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(ModelNotAvailableError, match=re.escape(str(tmp_path / "empty-cache"))):
        from_pretrained(
            "hf-hub:org/tiny", cache_dir=tmp_path / "empty-cache", local_files_only=True
        )
    assert hub.requests == []


# ----------------------------------------------------------------------------- bad content
@pytest.mark.slow
def test_corrupted_safetensors_files_are_reported(hub, tmp_path):
    saved_model(tmp_path / "model")
    files = files_of(tmp_path / "model")
    weights = files["model.safetensors"]
    config = json.loads(files["config.json"])
    assert len(config.pop("weights_sha256")) == 64  # save_pretrained records the checksum
    unrecorded = {**files, "config.json": json.dumps(config).encode()}
    hub.create_repo("org/broken")
    hub.commit("org/broken", {**files, "model.safetensors": weights[: len(weights) // 2]})
    hub.commit("org/broken", {**unrecorded, "model.safetensors": weights[:100]}, branch="cut")
    hub.commit("org/broken", {**unrecorded, "model.safetensors": b"\x00junk" * 64}, branch="junk")
    expected = {
        "hf-hub:org/broken": "checksum mismatch",
        "hf-hub:org/broken@cut": "not a readable safetensors file",
        "hf-hub:org/broken@junk": "not a readable safetensors file",
    }
    for source, problem in expected.items():
        with pytest.raises(WeightsError) as error:
            from_pretrained(source)
        message = str(error.value)
        assert message.startswith(f"{source} (") and "model.safetensors" in message
        assert problem in message and "force_download" in message


def test_config_and_weights_that_do_not_belong_together(hub, tmp_path):
    saved_model(tmp_path / "narrow", architecture_kwargs={"width": 4})
    saved_model(tmp_path / "wide", architecture_kwargs={"width": 8})
    narrow, wide = files_of(tmp_path / "narrow"), files_of(tmp_path / "wide")
    hub.create_repo("org/mixed")
    hub.commit("org/mixed", {**wide, "model.safetensors": narrow["model.safetensors"]})
    with pytest.raises(WeightsError, match=r"shape mismatches .*backbone\.conv1\.weight"):
        from_pretrained("hf-hub:org/mixed")

    state = load_file(tmp_path / "narrow" / "model.safetensors")
    del state["backbone.heads.word.bias"]
    state["backbone.extra.weight"] = torch.zeros(3)
    save_file(state, tmp_path / "edited.safetensors")
    edited = (tmp_path / "edited.safetensors").read_bytes()
    hub.commit("org/mixed", {**narrow, "model.safetensors": edited}, branch="keys")
    with pytest.raises(WeightsError) as error:
        from_pretrained("hf-hub:org/mixed@keys")
    message = str(error.value)
    assert "missing keys: backbone.heads.word.bias" in message
    assert "unexpected keys: backbone.extra.weight" in message


class _Payload:
    """Unpickling this creates ``marker``: proof that a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.slow
def test_pickled_weights_are_never_loaded(hub, tmp_path, monkeypatch):
    saved_model(tmp_path / "model")
    config = (tmp_path / "model" / "config.json").read_bytes()
    marker = tmp_path / "unpickled"
    pickled = tmp_path / "pytorch_model.bin"
    torch.save({"backbone.conv1.weight": _Payload(marker)}, pickled)
    payload = pickled.read_bytes()
    hub.create_repo("org/pickled")
    hub.commit("org/pickled", {"config.json": config, "pytorch_model.bin": payload})
    hub.commit("org/pickled", {"model.safetensors": payload}, branch="disguised")
    hub.create_repo("org/only-pickle")
    hub.commit("org/only-pickle", {"pytorch_model.bin": payload})

    def refuse(*args, **kwargs):
        raise AssertionError("something tried to unpickle")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    with pytest.raises(ModelNotAvailableError, match=r"has no model\.safetensors.*never unpickles"):
        from_pretrained("hf-hub:org/pickled")
    with pytest.raises(WeightsError, match="checksum mismatch"):
        from_pretrained("hf-hub:org/pickled@disguised")
    with pytest.raises(ModelNotAvailableError, match="not a topoaudio-zoo model repository"):
        from_pretrained("hf-hub:org/only-pickle")
    local = tmp_path / "local"
    local.mkdir()
    (local / "config.json").write_bytes(config)
    (local / "pytorch_model.bin").write_bytes(payload)
    with pytest.raises(ModelNotAvailableError, match=r"holds pytorch_model\.bin.*never unpickles"):
        from_pretrained(local)
    assert not marker.exists()


# ------------------------------------------------------------------------ publish, download
@pytest.mark.slow
def test_publish_uploads_only_the_model_files_and_they_load(hub, tmp_path, monkeypatch, capsys):
    expected = saved_model(tmp_path / "model", seed=4)
    (tmp_path / "model" / "last.ckpt").write_bytes(b"optimizer states")
    monkeypatch.setenv("HF_TOKEN", TOKEN)

    assert main(["publish", str(tmp_path / "model"), "--repo-id", "org/published"]) == 0

    sha = hub.repos["org/published"].branches["main"]
    out = capsys.readouterr().out
    assert f"commit {sha}" in out and "not uploaded: last.ckpt" in out
    uploaded = hub.files("org/published")
    assert sorted(uploaded) == [".gitattributes", "README.md", "config.json", "model.safetensors"]
    for name in ("README.md", "config.json", "model.safetensors"):
        assert uploaded[name] == (tmp_path / "model" / name).read_bytes()
    posts = [r for r in hub.requests if r.method == "POST"]
    assert {r.path for r in posts} >= {
        "/api/repos/create",
        "/api/models/org/published/preupload/main",
        "/api/models/org/published/commit/main",
    }
    assert all(r.authorization == f"Bearer {TOKEN}" for r in posts)
    assert_same_weights(from_pretrained(f"hf-hub:org/published@{sha}"), expected)

    updated = saved_model(tmp_path / "model", seed=5)
    assert main(["publish", str(tmp_path / "model"), "--repo-id", "org/published"]) == 0
    assert hub.repos["org/published"].branches["main"] != sha
    assert_same_weights(from_pretrained("hf-hub:org/published"), updated)


@pytest.mark.slow
def test_publish_to_a_branch_of_a_private_repository_with_a_token(hub, tmp_path):
    expected = saved_model(tmp_path / "model", seed=6)
    argv = ["publish", str(tmp_path / "model"), "--repo-id", "org/private", "--private"]
    assert main([*argv, "--revision", "candidate", "--token", TOKEN]) == 0

    assert hub.repos["org/private"].private
    assert sorted(hub.files("org/private", "main")) == [".gitattributes"]
    assert "model.safetensors" in hub.files("org/private", "candidate")
    with pytest.raises(ModelNotAvailableError, match="or it is private"):
        from_pretrained("hf-hub:org/private@candidate")
    hub.requests.clear()
    loaded = from_pretrained("hf-hub:org/private@candidate", token=TOKEN)
    assert_same_weights(loaded, expected)
    downloads = [r for r in hub.requests if not r.path.startswith("/api/")]
    auth = {r.path.split("/")[1]: r.authorization for r in downloads}
    assert auth == {"org": f"Bearer {TOKEN}", "cdn": None}, "the token never leaves the Hub"


@pytest.mark.slow
def test_publish_refuses_bad_folders_and_reports_a_missing_token(hub, tmp_path, capsys):
    saved_model(tmp_path / "model")
    with pytest.raises(SystemExit) as exit_info:
        main(["publish", str(tmp_path / "model"), "--repo-id", "org/nope"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "creating the repository failed" in err and "HF_TOKEN" in err
    assert "org/nope" not in hub.repos

    mismatched = tmp_path / "mismatched"
    saved_model(mismatched, architecture_kwargs={"width": 8})
    (mismatched / "model.safetensors").write_bytes(
        (tmp_path / "model" / "model.safetensors").read_bytes()
    )
    no_card = tmp_path / "no-card"
    saved_model(no_card)
    (no_card / "README.md").unlink()
    cases = [
        (mismatched, "shape mismatches"),
        (no_card, "no README.md model card"),
        (tmp_path / "absent", "no such model folder"),
    ]
    hub.requests.clear()
    for folder, reason in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(["publish", str(folder), "--repo-id", "org/nope", "--token", TOKEN])
        assert exit_info.value.code == 2
        assert reason in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["publish", str(tmp_path / "model"), "--repo-id", "not-a-repo-id"])
    assert "expected ORG/NAME" in capsys.readouterr().err
    assert hub.requests == [], "nothing is sent before the folder is checked"


@pytest.mark.slow
def test_download_prefetches_for_offline_use(hub, tmp_path, monkeypatch, capsys):
    first = saved_model(tmp_path / "a", seed=1)
    sha_first = hub.commit_folder("org/tiny", tmp_path / "a")
    hub.tag("org/tiny", "v1", sha_first)
    saved_model(tmp_path / "b", seed=2)
    hub.commit_folder("org/tiny", tmp_path / "b")
    cache = tmp_path / "prefetched"

    assert main(["download", "hf-hub:org/tiny@v1", "--cache-dir", str(cache)]) == 0
    assert str(cache / "models--org--tiny" / "snapshots" / sha_first) in capsys.readouterr().out

    hub.stop()
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert_same_weights(from_pretrained("hf-hub:org/tiny@v1", cache_dir=cache), first)
    with pytest.raises(SystemExit) as exit_info:
        main(["download", "hf-hub:org/tiny", "--cache-dir", str(cache)])
    assert exit_info.value.code == 2
    assert "not in the local cache" in capsys.readouterr().err


def test_download_checks_the_files(hub, tmp_path, capsys):
    saved_model(tmp_path / "model")
    files = files_of(tmp_path / "model")
    config = json.loads(files["config.json"])
    config["architecture_kwargs"] = {"width": 8}
    hub.create_repo("org/mismatch")
    hub.commit("org/mismatch", {**files, "config.json": json.dumps(config).encode()})
    with pytest.raises(SystemExit) as exit_info:
        main(["download", "hf-hub:org/mismatch"])
    assert exit_info.value.code == 2
    assert "shape mismatches" in capsys.readouterr().err
