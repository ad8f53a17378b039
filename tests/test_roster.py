"""Roster import: file formats, header languages, every kind of row problem, re-import."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import select

from bot.services import roster
from bot.services.roster import RosterCheck, RosterFileError, check_roster, import_roster, read_table
from models import Member, Role
from tests.conftest import DATA, run_cli


def test_sample_files_in_every_encoding_read_alike():
    bom = read_table(DATA / "roster.sample.csv")
    gbk = read_table(DATA / "roster.sample.gbk.csv")
    en = read_table(DATA / "roster.sample.en.csv")
    assert bom[0] == ["姓名", "界别", "专委会", "角色", "手机"]  # the BOM is not part of the first header
    assert gbk[1:] == bom[1:21]
    zh_rows = check_roster(bom)
    en_rows = check_roster(en)
    assert not zh_rows.problems and len(zh_rows.rows) == 255
    assert sum(r.role.is_staff for r in zh_rows.rows) == 5 and zh_rows.rows[250].role is Role.ADMIN
    assert not en_rows.problems and en_rows.rows[0].name == "苏建华" and en_rows.rows[0].phone == "13800000001"
    assert en_rows.rows[-1].role is Role.SECRETARIAT


def test_xlsx_is_read(tmp_path: Path):
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "界别", "专委会", "角色", "手机"])
    sheet.append(["张三", "民盟", "提案委员会", "管理员", 13700000000])  # Excel stores the phone as a number
    sheet.append(["李四", "农工党", "", "", None])
    path = tmp_path / "roster.xlsx"
    book.save(path)
    checked = check_roster(read_table(path))
    assert not checked.problems
    assert [(r.name, r.role, r.phone) for r in checked.rows] == [
        ("张三", Role.ADMIN, "13700000000"), ("李四", Role.MEMBER, None)]


def check_with_reasons(table: list[list[str]]) -> tuple[RosterCheck, list[tuple[int, str]]]:
    """check_roster's result, and its problems as (row number, the reason's English part)."""
    checked = check_roster(table)
    return checked, [(p.row, p.reason.split(" /")[0]) for p in checked.problems]


def test_every_row_problem_is_listed_with_row_number():
    table = [["name", "sector", "committee", "role", "phone"],
             ["", "民建", "", "member", "13800000001"],
             ["甲", "民建", "", "chairman", "13800000002"],
             ["乙", "民建", "", "member", "12345"],
             ["丙", "民建", "", "member", "13800000009"],
             ["丁", "民建", "", "member", "138-0000-0009"],
             ["戊", "民建", "", "委员", "+86 138 0000 0010"]]
    checked, problems = check_with_reasons(table)
    assert problems == [
        (2, "missing name"), (3, "unknown role"), (4, "bad phone number"), (6, "duplicate phone (also row 5)")]
    assert [r.phone for r in checked.rows] == ["13800000009", "13800000010"]


def test_unreadable_files_are_refused(tmp_path: Path):
    with pytest.raises(RosterFileError, match="name column"):
        check_roster([["foo", "bar"], ["1", "2"]])
    bad = tmp_path / "roster.pdf"
    bad.write_bytes(b"%PDF-1.4")
    with pytest.raises(RosterFileError, match="unsupported"):
        read_table(bad)
    broken = tmp_path / "roster.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(RosterFileError, match="Excel"):
        read_table(broken)


async def test_reimport_updates_instead_of_duplicating(db):
    first = check_roster(read_table(DATA / "roster.sample.gbk.csv")).rows
    async with db.session() as session:
        result = await import_roster(session, first)
    assert (result.created, result.updated) == (20, 0)
    # Same people again: one changed committee (matched by phone), one without phone (matched by name+sector)
    again = check_roster([["姓名", "界别", "专委会", "角色", "手机"],
                          ["苏建华", "民建", "经济委员会", "委员", "13800000001"],
                          ["廖艳", "民建", "民族宗教委员会", "委员", ""],
                          ["新人", "民盟", "提案委员会", "", "13600000000"]]).rows
    async with db.session() as session:
        result = await import_roster(session, again)
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    async with db.session() as session:
        members = (await session.exec(select(Member))).all()
        assert len(members) == 21
        su = (await session.exec(select(Member).where(Member.phone == "13800000001"))).one()
        assert su.committee == "经济委员会"
        liao = (await session.exec(select(Member).where(Member.name == "廖艳"))).one()
        assert liao.phone == "13800000002", "a blank phone in the new file does not erase the known one"


def _cli(args: list[str], db_url: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": db_url, "BOT_USERNAME": "lvzhi_bot", "TELEGRAM_BOT_TOKEN": ""}
    return run_cli(args, env=env, cwd=cwd)


@pytest.mark.one_database  # the command line; the import's SQL: test_reimport_updates_instead_of_duplicating
async def test_cli_refuses_a_file_with_errors_and_imports_a_good_one(db, db_url, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("姓名,界别,专委会,角色,手机\n张三,民盟,,委员,123\n李四,民盟,,委员,13900000000\n", encoding="utf-8")
    result = _cli(["members", "import", str(bad)], db_url, tmp_path)
    assert result.returncode == 1 and "第 2 行" in result.stderr
    async with db.session() as session:
        assert (await session.exec(select(Member))).all() == []

    result = _cli(["members", "import", str(DATA / "roster.sample.csv"), "--dry-run"], db_url, tmp_path)
    assert result.returncode == 0 and "255" in result.stdout
    async with db.session() as session:
        assert (await session.exec(select(Member))).all() == []

    out = tmp_path / "links.csv"
    result = _cli(["members", "import", str(DATA / "roster.sample.csv"), "--invites", str(out)], db_url, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "name,code,link" and len(lines) == 256
    assert lines[1].startswith("苏建华,") and "https://t.me/lvzhi_bot?start=" in lines[1]

    listing = _cli(["members", "list", "--unbound"], db_url, tmp_path)
    assert listing.returncode == 0 and "共 255 人" in listing.stdout
    new_code = _cli(["members", "invite", "苏建华"], db_url, tmp_path)
    assert new_code.returncode == 0 and new_code.stdout.startswith("苏建华\t")
    missing = _cli(["members", "invite", "无此人"], db_url, tmp_path)
    assert missing.returncode == 1 and "无此人" in missing.stderr
    gone = _cli(["members", "deactivate", "苏建华"], db_url, tmp_path)
    assert gone.returncode == 0
    async with db.session() as session:
        assert not (await session.exec(select(Member).where(Member.name == "苏建华"))).one().active


def test_phone_normalisation():
    assert roster.normalize_phone("+86 138-0000-0001") == "13800000001"
    assert roster.normalize_phone("13800000001.0") == "13800000001"


def test_control_characters_in_a_name_are_refused_with_the_row_number():
    named = [  # (name, sector, committee); no role, no phone
        ("张三\x00", "民建", ""),
        ("李四", "民盟\x07", ""),
        ("王五", "民进", "提案\u200b委员会"),
        ("赵\n六", "", ""),
        ("孙七", "致公党", "经济委员会"),
    ]
    table = [["姓名", "界别", "专委会", "角色", "手机"], *([*row, "", ""] for row in named)]
    checked, problems = check_with_reasons(table)
    assert problems == [(row, "control character in a name") for row in (2, 3, 4, 5)]
    assert [r.name for r in checked.rows] == ["孙七"]


async def test_a_roster_row_never_takes_over_a_handling_units_contact(db, db_url, tmp_path):
    from models import HandlingUnit

    async with db.session() as session:
        unit = HandlingUnit(name="区住房和城乡建设局")
        session.add(unit)
        await session.flush()
        session.add(Member(name="张科长", role=Role.UNIT.value, unit_id=unit.id, phone="13800000009"))
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text("姓名,界别,专委会,角色,手机\n张科长,民盟,,委员,13800000009\n李四,民盟,,委员,13900000000\n",
                           encoding="utf-8")
    result = _cli(["members", "import", str(roster_file)], db_url, tmp_path)
    assert result.returncode == 1 and "第 2 行" in result.stderr, result.stderr
    async with db.session() as session:
        people = sorted((m.name, m.role) for m in (await session.exec(select(Member))).all())
    assert people == [("张科长", Role.UNIT.value)]  # nothing imported, the contact unchanged
