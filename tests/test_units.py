"""Handling units (承办单位) on SQLite and PostgreSQL: the units file (CSV in GBK or with a BOM, XLSX;
Chinese or English headers) read like the roster, imported without duplicates, each unit's contact
a member row of role "unit" that binds with its invite; `lvzhi units import|list|invite`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.cli import app
from bot.services import invites, units
from bot.services.roster import read_table
from models import HandlingUnit, Member, Role
from tests.conftest import add_member

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
ZH_CSV = "单位名称,简称,联系人,联系电话\n区住房和城乡建设局,区住建局,张科长,13800138001\n区教育局,区教育局,赵科长,0571-88001234\n"
EN_ROWS = [["unit name", "short name", "contact name", "phone"],
           ["District Housing Bureau", "Housing", "Zhang", "13800138001"],
           ["District Education Bureau", "Education", "Zhao", ""]]


def write_gbk(path: Path, text: str = ZH_CSV) -> Path:
    path.write_bytes(text.encode("gbk"))
    return path


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_the_units_file_reads_in_gbk_with_a_bom_and_as_xlsx_with_english_headers(tmp_path: Path) -> None:
    gbk = units.check_units(read_table(write_gbk(tmp_path / "u.csv")))
    (tmp_path / "bom.csv").write_bytes(ZH_CSV.encode("utf-8-sig"))
    bom = units.check_units(read_table(tmp_path / "bom.csv"))
    assert gbk.rows == bom.rows and not gbk.problems
    assert [(r.name, r.short_name, r.contact, r.phone) for r in gbk.rows] == [
        ("区住房和城乡建设局", "区住建局", "张科长", "13800138001"), ("区教育局", "区教育局", "赵科长", "057188001234")]
    xlsx = units.check_units(read_table(write_xlsx(tmp_path / "u.xlsx", EN_ROWS)))
    assert [(r.name, r.contact, r.phone) for r in xlsx.rows] == [
        ("District Housing Bureau", "Zhang", "13800138001"), ("District Education Bureau", "Zhao", None)]


def test_every_bad_row_is_named_and_a_file_without_a_name_column_is_refused(tmp_path: Path) -> None:
    text = "单位名称,联系人,电话\n区住建局,张,12\n,李,\n区住建局,王,\n区财政局,钱,13800138001\n区税务局,孙,13800138001\n"
    checked = units.check_units(read_table(write_gbk(tmp_path / "bad.csv", text)))
    assert [p.row for p in checked.problems] == [2, 3, 6]  # bad phone, no name, phone twice
    assert [r.name for r in checked.rows] == ["区住建局", "区财政局"]  # row 4 repeats row 2's name, row 2 was refused
    with pytest.raises(units.UnitFileError):
        units.check_units([["联系人", "电话"], ["张", ""]])


async def test_import_twice_changes_nothing_and_a_new_contact_replaces_the_old(db, tmp_path: Path) -> None:
    rows = units.check_units(read_table(write_gbk(tmp_path / "u.csv"))).rows
    async with db.session() as session:
        first = await units.import_units(session, rows, now=NOW)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    async with db.session() as session:
        again = await units.import_units(session, rows, now=NOW)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    async with db.session() as session:
        contacts = (await session.exec(select(Member).where(col(Member.role) == Role.UNIT.value))).all()
        assert sorted(c.name for c in contacts) == ["张科长", "赵科长"]
        assert all(c.unit_id is not None and not c.is_member and not c.is_staff for c in contacts)
    changed = units.check_units(read_table(write_gbk(tmp_path / "v.csv", ZH_CSV.replace("张科长,13800138001", "刘科长,13800138009")))).rows
    async with db.session() as session:
        result = await units.import_units(session, changed, now=NOW)
        assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
        housing = await units.by_name(session, "区住建局")
        contact = await units.contact_of(session, housing.id or 0)
        assert contact is not None and (contact.name, contact.phone) == ("刘科长", "13800138009")
        old = (await session.exec(select(Member).where(col(Member.name) == "张科长"))).one()
        assert not old.active  # the old person no longer acts for the unit


async def test_a_phone_of_a_member_is_refused_for_a_unit_contact(db, tmp_path: Path) -> None:
    await add_member(db, "苏建华", phone="13800138001")
    rows = units.check_units(read_table(write_gbk(tmp_path / "u.csv"))).rows
    async with db.session() as session:
        assert [p.row for p in await units.phone_conflicts(session, rows)] == [2]


async def test_the_invite_binds_the_units_contact_and_a_unit_without_one_gets_one(db) -> None:
    async with db.session() as session:
        unit = HandlingUnit(name="区卫生健康局", short_name="区卫健局", contact_name="")
        session.add(unit)
        await session.flush()
        contact, code = await units.invite_contact(session, unit, now=NOW, ttl_days=30)
        assert (contact.name, contact.role, contact.unit_id) == ("区卫生健康局", "unit", unit.id)
    async with db.session() as session:
        outcome, bound = await invites.bind(session, code, 5001, now=NOW)
        assert outcome is invites.BindOutcome.BOUND and bound is not None and bound.role == "unit"
        listed = await units.list_units(session)
        assert [(u.name, c.telegram_user_id if c else None) for u, c in listed] == [("区卫生健康局", 5001)]
        with pytest.raises(units.UnitNotFound):
            await units.by_name(session, "区财政局")


@pytest.mark.one_database
async def test_the_units_commands(db, db_url, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("LOCALE", "zh")
    monkeypatch.setenv("BOT_USERNAME", "lvzhi_test_bot")

    async def run(*args: str) -> object:
        return await asyncio.to_thread(CliRunner().invoke, app, list(args))

    write_gbk(tmp_path / "units.csv")
    result = await run("units", "import", "units.csv")
    assert result.exit_code == 0 and "新增 2 个单位" in result.stdout  # type: ignore[attr-defined]
    write_gbk(tmp_path / "bad.csv", "单位名称,电话\n区财政局,12\n")
    result = await run("units", "import", "bad.csv")
    assert result.exit_code == 1 and "第 2 行" in result.stderr  # type: ignore[attr-defined]
    result = await run("units", "list")
    assert "区住房和城乡建设局\t区住建局\t张科长\t否" in result.stdout  # type: ignore[attr-defined]
    result = await run("units", "invite", "区住建局")
    assert result.exit_code == 0 and "https://t.me/lvzhi_test_bot?start=" in result.stdout  # type: ignore[attr-defined]
    result = await run("units", "invite", "区财政局")
    assert result.exit_code == 1 and "区财政局" in result.stderr  # type: ignore[attr-defined]
    async with db.session() as session:
        assert len((await session.exec(select(HandlingUnit))).all()) == 2
