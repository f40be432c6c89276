"""The GPU verification script's wiring, checked on the CPU (``--cpu``): checks report
PASS/FAIL with numbers, a failing check does not stop the others, the JSON summary is written,
and the wrapper runs the whole script from ``src/``. The GPU run itself is not a test."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "device_check.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("device_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["device_check"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def device_check():
    return _load_script()


def _summary(folder: Path) -> dict:
    return json.loads((folder / "device_check.json").read_text())


def test_cpu_checks_pass_with_their_numbers(device_check, tmp_path, capsys):
    code = device_check.main(
        ["--cpu", "--out", str(tmp_path), "--only", "cochleagram_exact", "topographic_loss"]
    )
    assert code == 0
    summary = _summary(tmp_path)
    assert summary["mode"] == "cpu-wiring" and summary["failed"] == []
    checks = {check["name"]: check for check in summary["checks"]}
    assert [c["status"] for c in checks.values()] == ["PASS", "PASS"]
    assert checks["cochleagram_exact"]["output_max_abs_error"] == 0.0
    assert checks["cochleagram_exact"]["grad_max_abs"] > 0
    topo = checks["topographic_loss"]
    assert topo["layers"] == 19 and topo["vs_topoloss"]["layer_value_max_abs_error"] <= 1e-5
    printed = capsys.readouterr().out
    assert "PASS cochleagram_exact" in printed and "PASS topographic_loss" in printed


def test_a_failing_check_fails_alone(device_check, tmp_path, monkeypatch, capsys):
    def broken(ctx):
        raise RuntimeError("CUDA error: an illegal memory access")

    def skipped(ctx):
        return device_check.Outcome(None, {"reason": "1 GPU(s): needs 2"})

    checks = {"broken": broken, "skipped": skipped}
    checks["topographic_loss"] = device_check.CHECKS["topographic_loss"]
    monkeypatch.setattr(device_check, "CHECKS", checks)
    code = device_check.main(["--cpu", "--out", str(tmp_path)])
    assert code == 1
    summary = _summary(tmp_path)
    statuses = {check["name"]: check["status"] for check in summary["checks"]}
    assert statuses == {"broken": "FAIL", "skipped": "SKIP", "topographic_loss": "PASS"}
    assert summary["failed"] == ["broken"]
    assert "illegal memory access" in summary["checks"][0]["error"]
    assert "FAIL broken" in capsys.readouterr().out


def test_gpu_mode_without_cuda_is_refused(device_check, tmp_path, monkeypatch):
    monkeypatch.setattr(device_check.torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit):
        device_check.main(["--out", str(tmp_path)])


@pytest.mark.slow
def test_wrapper_runs_every_check_on_the_cpu(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path)}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "device_check.sh"), "--cpu"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = _summary(tmp_path)
    names = [check["name"] for check in summary["checks"]]
    assert names == list(_load_script().CHECKS)
    assert all(check["status"] == "PASS" for check in summary["checks"])
    throughput = summary["checks"][-1]
    assert throughput["train_clips_per_s"] > 0 and throughput["cochleagram_fast_clips_per_s"] > 0
