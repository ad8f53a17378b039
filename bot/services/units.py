"""Handling units (承办单位): the secretariat's list of units (CSV/XLSX, Chinese or English headers,
UTF-8, BOM or GBK: read like the roster, `bot.services.roster.read_table`), each unit's contact
(a `Member` with role "unit" and `unit_id`, bound with an invite like a member) and the unit list.

A unit is matched by its name; importing the same file again changes nothing. A contact whose name
changes is a new person: the old contact row is deactivated (its Telegram account no longer acts
for the unit) and a new one waits for its invite."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import to_db
from bot.services import invites
from bot.services.roster import (
    ImportCounts,
    RosterFileError,
    RowProblem,
    checked_phone,
    has_control,
    header_columns,
)
from models import HandlingUnit, Member, Role

HEADERS = {
    "name": "name", "unit": "name", "unit name": "name", "unit_name": "name",
    "单位": "name", "单位名称": "name", "承办单位": "name", "名称": "name",
    "short_name": "short_name", "short name": "short_name", "short": "short_name", "简称": "short_name",
    "contact": "contact", "contact name": "contact", "contact_name": "contact",
    "联系人": "contact", "联络员": "contact", "联系人姓名": "contact",
    "phone": "phone", "电话": "phone", "手机": "phone", "手机号": "phone", "联系电话": "phone",
}
PHONE = re.compile(r"^\d{7,15}$")  # a mobile (13800138000) or an office line (057188001234)
MAX_NAME, MAX_SHORT, MAX_CONTACT = 64, 32, 64


class UnitFileError(RosterFileError):
    """The file as a whole cannot be read (format, encoding, no unit name column)."""


class UnitNotFound(LookupError):
    """No unit by that name or short name (or more than one by a short name)."""


@dataclass
class UnitRow:
    row: int  # as the spreadsheet numbers it: header is row 1
    name: str
    short_name: str
    contact: str
    phone: str | None


@dataclass
class UnitCheck:
    rows: list[UnitRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


@dataclass
class UnitImport(ImportCounts):
    units: list[HandlingUnit] = field(default_factory=list)
    contacts: list[Member] = field(default_factory=list)  # one per unit that names a contact


def check_units(table: list[list[str]]) -> UnitCheck:
    """Map the headers, check every row and collect each problem with its row number."""
    columns = header_columns(table, HEADERS, UnitFileError, "no unit name column (expected 单位名称 or name)")
    result = UnitCheck()
    seen: dict[str, int] = {}
    phones: dict[str, int] = {}
    for index, cells in enumerate(table[1:], start=2):
        if not any(cells):
            continue
        values = {c: (cells[i].strip() if i < len(cells) else "") for i, c in enumerate(columns) if c}
        name, short, contact = values.get("name", ""), values.get("short_name", ""), values.get("contact", "")
        if not name:
            result.problems.append(RowProblem(index, "missing unit name / 缺少单位名称"))
            continue
        if any(has_control(v) for v in (name, short, contact)):
            result.problems.append(RowProblem(index, "control character in a name / 名称含有不可见的控制字符"))
            continue
        if len(name) > MAX_NAME or len(short) > MAX_SHORT or len(contact) > MAX_CONTACT:
            result.problems.append(RowProblem(index, "name too long / 名称过长"))
            continue
        if name in seen:
            result.problems.append(RowProblem(index, f"duplicate unit (also row {seen[name]}) / 单位重复"))
            continue
        phone, refused = checked_phone(values.get("phone", ""), PHONE, phones, index, "电话")
        if refused:
            result.problems.append(RowProblem(index, refused))
            continue
        seen[name] = index
        result.rows.append(UnitRow(index, name, short, contact, phone))
    return result


async def contact_of(session: AsyncSession, unit_id: int) -> Member | None:
    """The unit's active contact row (bound or not)."""
    query = select(Member).where(
        col(Member.unit_id) == unit_id, col(Member.role) == Role.UNIT.value, col(Member.active).is_(True)
    )
    return (await session.exec(query.order_by(col(Member.id)))).first()


async def phone_conflicts(session: AsyncSession, rows: list[UnitRow]) -> list[RowProblem]:
    """Rows whose phone belongs to a member or another unit's contact already (a phone is one person)."""
    phones = {row.phone: row for row in rows if row.phone}
    if not phones:
        return []
    taken = (await session.exec(select(Member).where(col(Member.phone).in_(list(phones))))).all()
    units = {u.id: u.name for u in (await session.exec(select(HandlingUnit))).all()}
    problems = []
    for member in taken:
        row = phones[member.phone or ""]
        if member.role == Role.UNIT.value and units.get(member.unit_id) == row.name:
            continue  # this unit's own contact
        problems.append(RowProblem(row.row, "phone belongs to someone else / 电话已属于他人"))
    return sorted(problems, key=lambda p: p.row)


async def import_units(session: AsyncSession, rows: list[UnitRow], *, now: datetime) -> UnitImport:
    """Create or update units (by name) and their contacts. Check `phone_conflicts` first."""
    result = UnitImport()
    existing = {u.name: u for u in (await session.exec(select(HandlingUnit))).all()}
    for row in rows:
        unit = existing.get(row.name)
        created = unit is None
        changed = False
        if unit is None:
            unit = HandlingUnit(name=row.name, short_name=row.short_name, contact_name=row.contact,
                                phone=row.phone, created_at=to_db(now))
            session.add(unit)
            await session.flush()
            existing[row.name] = unit
        else:
            wanted = {"short_name": row.short_name, "contact_name": row.contact,
                      "phone": row.phone or unit.phone, "active": True}
            changed = any(getattr(unit, k) != v for k, v in wanted.items())
            for key, value in wanted.items():
                setattr(unit, key, value)
            session.add(unit)
        assert unit.id is not None
        if row.contact:
            contact, contact_changed = await _contact(session, unit.id, row.contact, row.phone, now=now)
            result.contacts.append(contact)
            changed = changed or contact_changed
        result.units.append(unit)
        if created:
            result.created += 1
        elif changed:
            result.updated += 1
        else:
            result.unchanged += 1
    await session.flush()
    return result


async def _contact(session: AsyncSession, unit_id: int, name: str, phone: str | None, *,
                   now: datetime) -> tuple[Member, bool]:
    """The unit's contact named `name`: the current one updated, or a new row (the old deactivated)."""
    current = await contact_of(session, unit_id)
    if current is not None and current.name == name:
        changed = bool(phone) and current.phone != phone
        if changed:
            current.phone = phone
            current.updated_at = to_db(now)
            session.add(current)
        return current, changed
    if current is not None:
        current.active = False  # another person now: the old account stops acting for the unit
        current.phone = None
        current.updated_at = to_db(now)
        session.add(current)
        await session.flush()
    contact = Member(name=name, role=Role.UNIT.value, unit_id=unit_id, phone=phone, created_at=to_db(now),
                     updated_at=to_db(now))
    session.add(contact)
    await session.flush()
    return contact, True


async def list_units(session: AsyncSession) -> list[tuple[HandlingUnit, Member | None]]:
    """Every unit with its active contact (None when it names none), by name."""
    units = (await session.exec(select(HandlingUnit).order_by(col(HandlingUnit.name)))).all()
    contacts = (
        await session.exec(
            select(Member).where(col(Member.role) == Role.UNIT.value, col(Member.active).is_(True))
            .order_by(col(Member.id))
        )
    ).all()
    by_unit: dict[int, Member] = {}
    for contact in contacts:
        if contact.unit_id is not None:
            by_unit.setdefault(contact.unit_id, contact)
    return [(unit, by_unit.get(unit.id or 0)) for unit in units]


async def by_name(session: AsyncSession, name: str) -> HandlingUnit:
    """The unit by its full name, else by its short name (exactly one)."""
    name = name.strip()
    unit = (await session.exec(select(HandlingUnit).where(col(HandlingUnit.name) == name))).first()
    if unit is not None:
        return unit
    matches = (await session.exec(select(HandlingUnit).where(col(HandlingUnit.short_name) == name))).all()
    if len(matches) != 1:
        raise UnitNotFound(name)
    return matches[0]


async def invite_contact(session: AsyncSession, unit: HandlingUnit, *, now: datetime,
                         ttl_days: int) -> tuple[Member, str]:
    """A fresh invite code for the unit's contact (created from the unit's contact name when the
    unit has no contact row yet); earlier codes stop working."""
    assert unit.id is not None
    contact = await contact_of(session, unit.id)
    if contact is None:
        contact = Member(name=unit.contact_name or unit.name, role=Role.UNIT.value, unit_id=unit.id,
                         created_at=to_db(now), updated_at=to_db(now))
        session.add(contact)
        await session.flush()
    code = await invites.new_invite(session, contact, now=now, ttl_days=ttl_days)
    return contact, code
