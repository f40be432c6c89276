"""Installs that cannot break: the wheel carries the embedded models and works outside the source
tree, ``import topoaudio_zoo`` is light, shipped weights are checksummed, torchaudio fails clearly.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import topoaudio_zoo
from topoaudio_zoo.zoo.registry import DEFAULT_BASELINE, DEFAULT_MODEL, get_entry, list_models
from topoaudio_zoo.zoo.weights import WeightsError

REPO = Path(__file__).resolve().parents[1]
EMBEDDED = {DEFAULT_MODEL, DEFAULT_BASELINE}

# Run in a fresh interpreter from outside the source tree: imports the installed package, checks
# what the import loaded, lists the shipped models and classifies a clip offline.
WHEEL_PROBE = """
import json, sys
import topoaudio_zoo
heavy = sorted(m for m in ("torchaudio", "lightning", "matplotlib") if m in sys.modules)
import torch
names = topoaudio_zoo.list_models(pretrained=True)
model = topoaudio_zoo.from_pretrained("{default}")
with torch.no_grad():
    logits = model(0.1 * torch.randn(1, model.config["clip_samples"]))
print(json.dumps({{
    "file": topoaudio_zoo.__file__,
    "heavy_after_import": heavy,
    "pretrained": names,
    "shapes": {{task: list(value.shape) for task, value in logits.items()}},
    "torchaudio_after_forward": "torchaudio" in sys.modules,
}}))
"""


def _light_copy_of_sources(dest: Path) -> Path:
    """The files a wheel is built from, copied so that the build never writes into the repo."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    shutil.copytree(
        REPO / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = _light_copy_of_sources(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("topoaudio_zoo-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel installed without dependencies into a scratch folder outside the source tree
    (the test environment's already-installed dependencies serve it)."""
    target = tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    subprocess.run(
        [*pip, "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    return target


def _run_installed(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(installed),
        "HF_HUB_OFFLINE": "1",
        "TOPOAUDIO_ZOO_CHECKPOINTS": "",
    }
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_wheel_carries_the_embedded_models_and_stays_small(wheel):
    assert wheel.stat().st_size < 60_000_000
    with zipfile.ZipFile(wheel) as archive:
        weights = {
            Path(name).parent.name
            for name in archive.namelist()
            if name.startswith("topoaudio_zoo/checkpoints/") and name.endswith(".safetensors")
        }
    assert weights == EMBEDDED


@pytest.mark.slow
def test_installed_wheel_works_outside_the_source_tree(installed, tmp_path):
    result = _run_installed(installed, tmp_path, "-c", WHEEL_PROBE.format(default=DEFAULT_MODEL))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["file"]).is_relative_to(installed)
    assert report["heavy_after_import"] == []
    assert set(report["pretrained"]) == EMBEDDED
    assert report["shapes"]["word"] == [1, 35]
    assert report["torchaudio_after_forward"] is False


@pytest.mark.slow
def test_installed_wheel_runs_the_demo_offline(installed, tmp_path):
    result = _run_installed(
        installed, tmp_path, "-m", "topoaudio_zoo.cli", "demo", "--out", str(tmp_path / "demo")
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo" / "tonotopy.png").stat().st_size > 10_000


def test_import_loads_no_heavy_dependency():
    probe = (
        "import sys, topoaudio_zoo; "
        "print(sorted(m for m in ('torch', 'torchaudio', 'lightning', 'matplotlib') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_every_public_name_resolves():
    for name in topoaudio_zoo.__all__:
        assert getattr(topoaudio_zoo, name) is not None, name
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = topoaudio_zoo.no_such_name


def test_shipped_weights_match_their_recorded_sha256():
    for name in list_models(pretrained=True):
        entry = get_entry(name)
        data = (entry.local_path() / "model.safetensors").read_bytes()
        assert entry.sha256 == hashlib.sha256(data).hexdigest(), name


def test_corrupted_shipped_weights_are_refused(tmp_path, monkeypatch):
    shipped = get_entry(DEFAULT_MODEL).local_path()
    copy = tmp_path / DEFAULT_MODEL
    shutil.copytree(shipped, copy)
    weights = bytearray((copy / "model.safetensors").read_bytes())
    weights[-5] ^= 0x01  # one bit of one tensor value: still a valid safetensors file
    (copy / "model.safetensors").write_bytes(bytes(weights))
    monkeypatch.setenv("TOPOAUDIO_ZOO_CHECKPOINTS", str(tmp_path))
    assert get_entry(DEFAULT_MODEL).local_path() == copy
    with pytest.raises(WeightsError, match="checksum mismatch"):
        topoaudio_zoo.from_pretrained(DEFAULT_MODEL)


def test_missing_shipped_folder_says_where_to_get_it(monkeypatch):
    from topoaudio_zoo.zoo import registry

    monkeypatch.setattr(registry, "checkpoint_dirs", lambda: [Path("/nonexistent")])
    with pytest.raises(ValueError, match="TOPOAUDIO_ZOO_CHECKPOINTS") as info:
        topoaudio_zoo.from_pretrained(DEFAULT_MODEL)
    assert "/nonexistent" in str(info.value)


def test_broken_torchaudio_names_the_versions_and_the_fix(monkeypatch):
    import torch

    from topoaudio_zoo.audio import resample
    from topoaudio_zoo.torchaudio_backend import TorchaudioUnavailableError

    monkeypatch.setitem(sys.modules, "torchaudio", None)
    monkeypatch.setitem(sys.modules, "torchaudio.functional", None)
    with pytest.raises(TorchaudioUnavailableError) as info:
        resample(torch.zeros(100), 44100, 20000)
    message = str(info.value)
    assert f"torch {torch.__version__.split('+')[0]}" in message or torch.__version__ in message
    assert "torchaudio==2.11.1" in message and "requirements/lock.txt" in message


def _pins(lock: Path) -> dict[str, set[str]]:
    pins = {}
    for line in lock.read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split(";")[0].strip().split("==")
            pins.setdefault(canonicalize_name(name), set()).add(version.strip())
    return pins


@pytest.mark.parametrize(
    ("lock", "extras"), [("lock.txt", ()), ("lock-dev.txt", ("dev",))], ids=["runtime", "dev"]
)
def test_lock_pins_every_dependency_within_the_pyproject_ranges(lock, extras):
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"]]
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    pins = _pins(REPO / "requirements" / lock)
    for text in wanted:
        requirement = Requirement(text)
        versions = pins.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is not pinned in {lock}: run scripts/lock.sh"
        for version in versions:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{lock} pins {requirement.name}=={version} outside {requirement.specifier}: "
                "run scripts/lock.sh"
            )
