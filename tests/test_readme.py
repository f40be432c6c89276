"""Every ```python block of the README and of docs/*.md runs: in order, one namespace per file."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _blocks(document: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", document.read_text(), flags=re.DOTALL)


def test_the_readme_has_python_examples():
    assert len(_blocks(ROOT / "README.md")) >= 5


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if _blocks(d)], ids=lambda d: d.name)
def test_python_examples_run(document, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for index, block in enumerate(_blocks(document)):
        exec(compile(block, f"{document.name} python block {index + 1}", "exec"), namespace)
