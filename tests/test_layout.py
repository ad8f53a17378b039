"""The layout's rules that import-linter cannot state (`make lint` checks the layers themselves)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def private_ptb_imports(folder: Path, root: Path = ROOT) -> list[str]:
    """`from telegram._x import …`, `from telegram.ext import _Y`: names PTB may move in any release."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "telegram":
                names = [node.module, *(a.name for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.split(".")[0] == "telegram"]
            else:
                continue
            if any(part.startswith("_") for name in names for part in name.split(".")):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_no_private_ptb_names_in_bot_and_models() -> None:
    assert private_ptb_imports(ROOT / "bot") + private_ptb_imports(ROOT / "models") == []


def test_the_check_sees_a_private_import(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("from telegram.ext._utils.types import ConversationDict\n", "utf-8")
    (tmp_path / "y.py").write_text("from telegram.ext import Application\nimport telegram.error\n", "utf-8")
    assert private_ptb_imports(tmp_path, tmp_path) == ["x.py:1"]
