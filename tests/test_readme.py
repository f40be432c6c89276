"""Every ```python block of the README and of docs/*.md runs, in order, one namespace per file,
and the outputs its comments promise are what the code gives.

An output promise is a comment that begins with Python literals:

- ``print(a, b)  # (3, 8, 8) [1, 2] ...``: the first printed values equal the leading literals,
  which are separated by spaces (shapes compared as tuples);
- ``x = ...  # (1, 40000) ...``: ``x.shape`` is the tuple; ``# {"word": (1, 35), ...}``: each
  entry of ``x`` has that shape.

Prose after the literals (``: sounds × sheet rows``) is not checked; a comment that starts with
words is not a promise.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINE = re.compile(r"^(?P<indent>\s*)(?P<code>\S.*?)\s+#\s*(?P<comment>.*)$")


def _blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def leading_literals(comment: str) -> list[Any]:
    """The Python literals a comment begins with, separated by spaces: ``"(3, 8) [1] rows"`` →
    ``[(3, 8), [1]]``; ``"(3, 8), (4, 9) …"`` → ``[(3, 8)]`` (after a comma it is prose)."""
    found, rest = [], comment
    while rest[:1] in ("(", "[", "{"):
        for end in range(1, len(rest) + 1):
            try:
                found.append(ast.literal_eval(rest[:end]))
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
            rest = rest[end:].lstrip(" ") if rest[end : end + 1] == " " else ""
            break
        else:
            break
    return found


def _plain(value: Any) -> Any:
    """Shapes as tuples, so that ``torch.Size([3, 8])`` equals ``(3, 8)``."""
    return tuple(value) if isinstance(value, tuple) else value


def checked_print(expected: list[Any], where: str, *values: Any, **kwargs: Any) -> None:
    """``print`` that first checks its leading values against the comment's literals."""
    got = [_plain(value) for value in values[: len(expected)]]
    assert got == expected, f"{where}: printed {got}, the comment promises {expected}"
    print(*values, **kwargs)


def check_shape(value: Any, expected: Any, where: str) -> None:
    """``value.shape`` equals a promised tuple; a dict's entries, a promised dict of tuples."""
    if isinstance(expected, dict):
        got = {key: tuple(item.shape) for key, item in value.items()}
    else:
        got = tuple(value.shape)
    assert got == expected, f"{where}: shape {got}, the comment promises {expected}"


def instrument(block: str, name: str) -> tuple[str, int]:
    """The block with each output promise turned into a check, and how many there are."""
    lines, promises = [], 0
    for number, line in enumerate(block.splitlines(), start=1):
        lines.append(line)
        match = LINE.match(line)
        expected = leading_literals(match["comment"]) if match else []
        if not expected:
            continue
        try:
            (statement,) = ast.parse(match["code"]).body
        except (SyntaxError, ValueError):
            continue  # a line of a longer statement
        where = f"{name} line {number}: {match['code']}"
        indent = match["indent"]
        if (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Call)
            and getattr(statement.value.func, "id", None) == "print"
        ):
            call = match["code"].replace("print(", f"_checked_print({expected!r}, {where!r}, ", 1)
            lines[-1] = f"{indent}{call}"
            promises += 1
        elif (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(expected[0], tuple | dict)
        ):
            target = statement.targets[0].id
            lines.append(f"{indent}_check_shape({target}, {expected[0]!r}, {where!r})")
            promises += 1
    return "\n".join(lines) + "\n", promises


def run_examples(text: str, name: str) -> int:
    """Run a document's python blocks in one namespace, checking their promises; returns how
    many promises were checked."""
    namespace: dict = {"_checked_print": checked_print, "_check_shape": check_shape}
    checked = 0
    for index, block in enumerate(_blocks(text)):
        where = f"{name} python block {index + 1}"
        source, promises = instrument(block, where)
        exec(compile(source, where, "exec"), namespace)
        checked += promises
    return checked


def test_the_readme_has_python_examples_with_promised_outputs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(_blocks(text)) >= 5
    promised = sum(instrument(block, "README")[1] for block in _blocks(text))
    assert promised >= 8, f"only {promised} output comments are checked"


@pytest.mark.parametrize(
    "document",
    [d for d in DOCUMENTS if _blocks(d.read_text(encoding="utf-8"))],
    ids=lambda d: d.name,
)
@pytest.mark.slow
def test_python_examples_run_and_print_what_their_comments_say(document, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_examples(document.read_text(encoding="utf-8"), document.name)


def test_a_comment_that_the_output_contradicts_fails():
    good = "\n".join(
        [
            "```python",
            "import torch",
            "x = torch.zeros(3, 8)  # (3, 8): rows",
            "print(x.shape)  # (3, 8)",
            "```",
        ]
    )
    assert run_examples(good, "good") == 2
    for wrong in (
        good.replace("# (3, 8): rows", "# (3, 9): rows"),
        good.replace("print(x.shape)  # (3, 8)", "print(x.shape)  # (8, 3)"),
        good.replace("print(x.shape)  # (3, 8)", "print(x.shape, [1])  # (3, 8) [2]"),
    ):
        with pytest.raises(AssertionError, match="the comment promises"):
            run_examples(wrong, "wrong")


def test_literals_are_read_from_the_start_of_a_comment_only():
    assert leading_literals("(3, 8, 8): sounds × rows") == [(3, 8, 8)]
    assert leading_literals("['a', 'b'] (8, 8)") == [["a", "b"], (8, 8)]
    assert leading_literals('{"word": (1, 35)}') == [{"word": (1, 35)}]
    assert leading_literals("(1, 2), (3, 4) …") == [(1, 2)]
    assert leading_literals("19 layers, (16, 16)") == []
    assert leading_literals("(units, sounds)") == []
