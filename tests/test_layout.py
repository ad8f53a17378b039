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


def test_no_private_ptb_names_in_handlers() -> None:
    """The dialogs use PTB's public API only (handlers/dialog.py runs its own timeout jobs)."""
    assert private_ptb_imports(ROOT / "handlers") == []


def test_the_check_sees_a_private_import(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("from telegram.ext._utils.types import ConversationDict\n", "utf-8")
    (tmp_path / "y.py").write_text("from telegram.ext import Application\nimport telegram.error\n", "utf-8")
    assert private_ptb_imports(tmp_path, tmp_path) == ["x.py:1"]


def _hand_made_button_data(folder: Path) -> list[str]:
    """Places that write a "callback_data" key themselves instead of using bot.core.buttons."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict) and any(
                isinstance(key, ast.Constant) and key.value == "callback_data" for key in node.keys
            ):
                found.append(f"{path.name}:{node.lineno}")
    return found


def test_services_make_button_data_with_the_one_codec() -> None:
    assert _hand_made_button_data(ROOT / "bot" / "services") == []
    assert _hand_made_button_data(ROOT / "handlers") == []


def test_the_check_sees_hand_made_button_data(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text('MARKUP = {"inline_keyboard": [[{"text": "a", "callback_data": "ev:a:1"}]]}\n')
    assert _hand_made_button_data(tmp_path) != []
