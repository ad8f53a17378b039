"""Roster import: read the secretariat's CSV/XLSX (Chinese or English headers), check every row,
and create or update members without duplicating them."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import utcnow
from models import Member, Role

HEADERS = {
    "name": "name", "姓名": "name",
    "sector": "sector", "界别": "sector",
    "committee": "committee", "专委会": "committee",
    "role": "role", "角色": "role",
    "phone": "phone", "手机": "phone", "手机号": "phone", "电话": "phone",
}
ROLES = {
    "": Role.MEMBER, "member": Role.MEMBER, "委员": Role.MEMBER,
    "secretariat": Role.SECRETARIAT, "机关": Role.SECRETARIAT,
    "admin": Role.ADMIN, "管理员": Role.ADMIN,
}
# A staff member who is also a 委员 writes both words: "机关+委员", "secretariat+member".
ALSO_MEMBER_WORDS = {"member", "委员"}
PHONE = re.compile(r"^1[3-9]\d{9}$")
NAMED = ("name", "sector", "committee")  # the cells that become names on cards, lists and workbooks


def has_control(text: str) -> bool:
    """A control, format (zero-width) or unassigned character: invisible on screen, trouble in files."""
    return any(unicodedata.category(ch).startswith("C") for ch in text)


class RosterFileError(Exception):
    """The file as a whole cannot be read (format, encoding, missing name column)."""


@dataclass
class RosterRow:
    row: int  # as the spreadsheet numbers it: header is row 1
    name: str
    sector: str
    committee: str
    role: Role
    phone: str | None
    also_member: bool = False  # staff who is also a 委员 (counted as a member)


@dataclass
class RowProblem:
    row: int
    reason: str


@dataclass
class RosterCheck:
    rows: list[RosterRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


@dataclass
class ImportCounts:
    """What an import did with the file's rows."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportResult(ImportCounts):
    members: list[Member] = field(default_factory=list)


def normalize_phone(raw: str) -> str:
    digits = re.sub(r"[\s\-()]", "", raw)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if digits.endswith(".0"):  # Excel turns long numbers into floats
        digits = digits[:-2]
    return digits


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterFileError("the file is neither UTF-8 nor GBK text")


def read_table(path: Path) -> list[list[str]]:
    """Rows of cells as text, from CSV (UTF-8, UTF-8 with BOM or GBK) or XLSX."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise RosterFileError(f"cannot read the Excel file: {exc}") from None
        return [["" if c is None else str(c).strip() for c in row] for row in sheet.iter_rows(values_only=True)]
    if suffix in (".csv", ".txt", ""):
        text = _decode(path.read_bytes())
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    raise RosterFileError(f"unsupported file type {suffix!r}; use .csv or .xlsx")


def parse_role(text: str) -> tuple[Role, bool] | None:
    """The role and whether staff is also a 委员: `委员`, `机关`, `机关+委员`, `admin+member` …"""
    words = [w for w in re.split(r"\s*[+＋]\s*", text.strip().lower())]
    if len(words) == 1:
        return (ROLES[words[0]], False) if words[0] in ROLES else None
    if len(words) != 2:
        return None
    staff = [w for w in words if w not in ALSO_MEMBER_WORDS]
    if len(staff) != 1 or staff[0] not in ROLES or not ROLES[staff[0]].is_staff:
        return None
    return ROLES[staff[0]], True


def header_columns(
    table: list[list[str]], headers: dict[str, str], error: type[RosterFileError], no_name: str
) -> list[str | None]:
    """The field of each column, from the header row (a header `headers` does not know: None).
    Raises `error`: for an empty file, and with `no_name` when no column is the name."""
    if not table:
        raise error("the file is empty")
    columns = [headers.get(h.strip().lower(), headers.get(h.strip())) for h in table[0]]
    if "name" not in columns:
        raise error(no_name)
    return columns


def checked_phone(
    raw: str, pattern: re.Pattern[str], seen: dict[str, int], row: int, word: str
) -> tuple[str | None, str]:
    """The cell's phone normalized (None when empty) and "", noted in `seen` (phone → row) for the
    rows below; or None and why the row is refused: it does not match `pattern`, or an earlier row
    has it. `word` is what the reason calls it in Chinese (手机号, 电话)."""
    phone = normalize_phone(raw) or None
    if phone is not None and not pattern.match(phone):
        return None, f"bad phone number / {word}格式不正确"
    if phone is not None and phone in seen:
        return None, f"duplicate phone (also row {seen[phone]}) / {word}重复"
    if phone is not None:
        seen[phone] = row
    return phone, ""


def check_roster(table: list[list[str]]) -> RosterCheck:
    """Map headers, validate every row and collect each problem with its row number."""
    columns = header_columns(table, HEADERS, RosterFileError, "no name column (expected 姓名 or name)")
    result = RosterCheck()
    seen_phones: dict[str, int] = {}
    for index, cells in enumerate(table[1:], start=2):
        if not any(cells):
            continue
        values = {col: (cells[i] if i < len(cells) else "") for i, col in enumerate(columns) if col}
        name = values.get("name", "").strip()
        if not name:
            result.problems.append(RowProblem(index, "missing name / 缺少姓名"))
            continue
        if any(has_control(values.get(col, "")) for col in NAMED):
            result.problems.append(RowProblem(index, "control character in a name / 姓名、界别或专委会含有不可见的控制字符"))
            continue
        role = parse_role(values.get("role", ""))
        if role is None:
            result.problems.append(RowProblem(index, f"unknown role / 未知角色: {values.get('role')}"))
            continue
        phone, refused = checked_phone(values.get("phone", ""), PHONE, seen_phones, index, "手机号")
        if refused:
            result.problems.append(RowProblem(index, refused))
            continue
        result.rows.append(RosterRow(index, name, values.get("sector", "").strip(),
                                     values.get("committee", "").strip(), role[0], phone, role[1]))
    return result


class RosterConflict(Exception):
    """Rows that would change someone the roster does not own (a handling unit's contact)."""

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__(problems)
        self.problems = problems


async def import_roster(session: AsyncSession, rows: list[RosterRow]) -> ImportResult:
    """Create or update members: matched by phone, else by name + sector. A handling unit's contact
    (`lvzhi units`) is never matched: a row with its phone is refused (RosterConflict) and nothing
    is written."""
    result = ImportResult()
    everyone = list((await session.exec(select(Member))).all())
    unit_phones = {m.phone for m in everyone if m.role == Role.UNIT.value and m.phone}
    taken = [RowProblem(row.row, f"phone of a handling unit's contact / 该手机号属于承办单位联络员: {row.phone}")
             for row in rows if row.phone in unit_phones]
    if taken:
        raise RosterConflict(taken)
    existing = [m for m in everyone if m.role != Role.UNIT.value]
    by_phone = {m.phone: m for m in existing if m.phone}
    by_name = {(m.name, m.sector): m for m in existing}
    for row in rows:
        member = (by_phone.get(row.phone) if row.phone else None) or by_name.get((row.name, row.sector))
        wanted: dict[str, Any] = {"name": row.name, "sector": row.sector, "committee": row.committee,
                  "role": row.role.value, "also_member": row.also_member, "phone": row.phone or (member.phone if member else None)}
        if member is None:
            member = Member(**wanted)
            session.add(member)
            result.created += 1
        elif any(getattr(member, k) != v for k, v in wanted.items()) or not member.active:
            for key, value in wanted.items():
                setattr(member, key, value)
            member.active = True
            member.updated_at = utcnow()
            result.updated += 1
        else:
            result.unchanged += 1
        by_name[(row.name, row.sector)] = member
        if member.phone:
            by_phone[member.phone] = member
        result.members.append(member)
    await session.flush()
    return result
