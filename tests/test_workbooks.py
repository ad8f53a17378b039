"""Every workbook the secretariat gets (`lvzhi export`, `lvzhi info export`, the digest's) opened
with openpyxl: what a person typed is text (never a live formula), dates are date cells, every
sheet has a frozen header, an autofilter and a width for every column, no column is always empty;
one name per level; a resubmitted report does not show its old return reason; the invites CSV
escapes cells a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from bot.core.rules import load_rules
from bot.services import activities, info
from bot.services.annual import annual_figures
from bot.services.annual import render_text as annual_text
from bot.services.digest import IsoWeek, build_digest, render_text
from bot.services.exports import digest_workbook, export, export_info_year
from models import Member
from tests.conftest import add_member, run_cli

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 11, 20, 10, 0, tzinfo=SH).astimezone(UTC)  # Thursday of 2025-W47
HOSTILE_NAMES = ['=HYPERLINK("http://x","y")', "+1+1", "-2-2", "@SUM(A1)"]
HOSTILE_TEXT = '=HYPERLINK("http://evil","点这里")并且这是一次调研活动的说明'


@pytest.fixture
def rules(settings):  # type: ignore[no-untyped-def]
    return load_rules(settings.rules_path)


async def _data(db, rules) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Hostile names and texts, a returned-then-resubmitted report, an item reported to the province."""
    people = [await add_member(db, name, committee="=CMD()") for name in HOSTILE_NAMES]
    staff = await add_member(db, "马晓燕", role="secretariat", telegram_user_id=9001)
    plain = await add_member(db, "苏建华")
    day = date(2025, 11, 18)
    ids: dict[str, int] = {}
    async with db.session() as session:
        hostile = await activities.submit_report(
            session, member_id=people[0].id, type_code="research", day=day, description=HOSTILE_TEXT,
            photos=[], now=NOW - timedelta(days=1), rules=rules, zone=SH,
        )
        again = await activities.submit_report(
            session, member_id=plain.id, type_code="research", day=day, description="走访两个社区并召开座谈会",
            photos=[], now=NOW - timedelta(days=1), rules=rules, zone=SH,
        )
        still = await activities.submit_report(
            session, member_id=people[1].id, type_code="inspection", day=day, description="视察三家农贸市场的食品安全",
            photos=[], now=NOW - timedelta(days=1), rules=rules, zone=SH,
        )
        ids.update(hostile=hostile.id, again=again.id, still=still.id)
    async with db.session() as session:
        for rid in (ids["again"], ids["still"]):
            await activities.return_report(
                session, report_id=rid, reviewer_id=staff.id, reason="=请补充照片", now=NOW - timedelta(hours=20),
                rules=rules,
            )
    async with db.session() as session:  # corrected and sent again: pending, the old reason is history
        await activities.submit_report(
            session, member_id=plain.id, type_code="research", day=day, description="走访两个社区并召开座谈会，附照片",
            photos=[], now=NOW - timedelta(hours=10), rules=rules, zone=SH, report_id=ids["again"],
        )
        await activities.approve_report(
            session, report_id=ids["hostile"], reviewer_id=staff.id, now=NOW - timedelta(hours=5), rules=rules
        )
    async with db.session() as session:
        item = await info.submit(
            session, author_id=people[2].id, title="=1+1 关于加装电梯的建议", category="民生保障",
            body="@老旧小区加装电梯需求迫切，建议由街道牵头制定分摊方案。" * 3, now=NOW - timedelta(days=2),
            tz=SH, rules=rules, coauthor_ids=[people[3].id],
        )
        ids["item"] = item.id
    for move, extra in (("accept", {}), ("report", {"level": "region", "on_date": date(2025, 11, 19)})):
        async with db.session() as session:
            actor = await session.get(Member, staff.id)
            await info.apply_move(session, item_id=ids["item"], move=move, actor=actor, now=NOW - timedelta(days=1),
                                  tz=SH, **extra)
    return ids


def _books(tmp_path) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {name: load_workbook(tmp_path / f"{name}.xlsx") for name in ("all", "info", "digest")}


async def _write_all(db, rules, tmp_path) -> dict:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        await export(session, ["members", "activities", "info"], 2025, tmp_path / "all.xlsx", rules=rules, zone=SH)
        await export_info_year(session, 2025, tmp_path / "info.xlsx", zone=SH, lang="zh")
        await digest_workbook(session, IsoWeek(2025, 47), tmp_path / "digest.xlsx", rules=rules, zone=SH, lang="zh")
    return _books(tmp_path)


async def test_typed_text_is_never_a_formula_in_any_workbook(db, rules, tmp_path) -> None:
    await _data(db, rules)
    books = await _write_all(db, rules, tmp_path)
    texts: set[str] = set()
    for name, book in books.items():
        for ws in book.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", f"{name}/{ws.title}!{cell.coordinate} is a formula: {cell.value}"
                    if isinstance(cell.value, str):
                        texts.add(cell.value)
    assert set(HOSTILE_NAMES) <= texts and HOSTILE_TEXT in texts and "=CMD()" in texts
    assert "=1+1 关于加装电梯的建议" in texts


async def test_dates_are_date_cells_and_every_sheet_is_filterable_with_widths(db, rules, tmp_path) -> None:
    await _data(db, rules)
    books = await _write_all(db, rules, tmp_path)
    for name, book in books.items():
        for ws in book.worksheets:
            last = get_column_letter(ws.max_column)
            assert ws.freeze_panes == "A2", (name, ws.title)
            assert ws.auto_filter.ref == f"A1:{last}{ws.max_row}", (name, ws.title)
            for index in range(1, ws.max_column + 1):
                assert ws.column_dimensions[get_column_letter(index)].width, (name, ws.title, index)
            assert all(c.font.b for c in ws[1])
    activities_sheet = books["all"]["履职活动"]
    headers = [c.value for c in activities_sheet[1]]
    row = {h: c for h, c in zip(headers, next(activities_sheet.iter_rows(min_row=2)), strict=True)}
    assert row["活动日期"].is_date and row["活动日期"].value == datetime(2025, 11, 18)
    assert row["提交时间"].is_date and row["提交时间"].value == datetime(2025, 11, 19, 10, 0)
    items = books["info"]["信息"] if "信息" in books["info"].sheetnames else books["info"].worksheets[0]
    headers = [c.value for c in items[1]]
    first = {h: c for h, c in zip(headers, next(items.iter_rows(min_row=2)), strict=True)}
    assert first["提交时间"].is_date and first["采用时间"].is_date
    history = books["info"].worksheets[1]
    assert all(r[1].is_date for r in history.iter_rows(min_row=2))


async def test_no_column_is_always_empty(db, rules, tmp_path) -> None:
    """A demo-sized year: every column of every sheet has something in it for some row."""
    await _data(db, rules)
    books = await _write_all(db, rules, tmp_path)
    empty = [
        (name, ws.title, ws.cell(1, index).value)
        for name, book in books.items()
        for ws in book.worksheets
        for index in range(1, ws.max_column + 1)
        if ws.max_row >= 2 and all(ws.cell(r, index).value in (None, "") for r in range(2, ws.max_row + 1))
    ]
    assert not empty, "\n".join(map(str, empty))


async def test_a_resubmitted_report_does_not_show_its_old_return_reason(db, rules, tmp_path) -> None:
    ids = await _data(db, rules)
    books = await _write_all(db, rules, tmp_path)
    for book, sheet in ((books["all"], "履职活动"), (books["digest"], "本周履职报告")):
        ws = book[sheet]
        headers = [c.value for c in ws[1]]
        rows = {r[0].value: dict(zip(headers, [c.value for c in r], strict=True)) for r in ws.iter_rows(min_row=2)}
        assert rows[ids["again"]]["状态"] == "待审核" and rows[ids["again"]]["退回原因"] in (None, "")
        assert rows[ids["still"]]["状态"] == "已退回" and rows[ids["still"]]["退回原因"] == "=请补充照片"


async def test_one_name_per_level_everywhere(db, rules, tmp_path) -> None:
    await _data(db, rules)
    books = await _write_all(db, rules, tmp_path)
    exported = books["all"]["社情民意"]
    item_sheet = books["info"].worksheets[0]
    headers_export = [c.value for c in exported[1]]
    headers_info = [c.value for c in item_sheet[1]]
    assert "最高层级" in headers_export and "最高层级" in headers_info
    assert exported.cell(2, headers_export.index("最高层级") + 1).value == "省级"
    assert item_sheet.cell(2, headers_info.index("最高层级") + 1).value == "省级"
    async with db.session() as session:
        figures = await annual_figures(session, 2025, rules=rules, zone=SH, now=NOW)
        digest = await build_digest(session, IsoWeek(2025, 47), now=NOW, rules=rules, zone=SH)
    assert "省级 1 篇" in annual_text(figures, "zh", rules)
    text = render_text(digest, "zh", rules)
    assert "省级 1" in text and "省（区）级" not in text


@pytest.mark.one_database  # the command line's CSV
def test_invites_csv_escapes_cells_a_spreadsheet_would_run(db_url, tmp_path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "姓名,界别,专委会,角色,手机\n"
        '"=HYPERLINK(""http://x"",""y"")",民建,经济委员会,委员,\n'
        "+1+1,民建,经济委员会,委员,\n@SUM(A1),民建,经济委员会,委员,\n-2,民建,经济委员会,委员,\n"
        "苏建华,民建,经济委员会,委员,\n",
        encoding="utf-8",
    )
    env = {**os.environ, "DATABASE_URL": db_url, "BOT_USERNAME": "lvzhi_test_bot", "LOCALE": "zh"}
    result = run_cli(["members", "import", str(roster), "--invites", str(tmp_path / "inv.csv")], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO((tmp_path / "inv.csv").read_text(encoding="utf-8-sig"))))
    names = [r[0] for r in rows[1:]]
    assert names == ["'=HYPERLINK(\"http://x\",\"y\")", "'+1+1", "'@SUM(A1)", "'-2", "苏建华"]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r)


async def test_invite_codes_never_need_escaping_in_the_csv(db) -> None:
    from bot.services import invites
    from bot.services.sheets import csv_cell

    member = await add_member(db, "苏建华")
    async with db.session() as session:
        codes = [await invites.new_invite(session, member, now=NOW, ttl_days=30) for _ in range(300)]
    assert all(csv_cell(code) == code for code in codes)  # 300 codes: ~19 would start with "-" or "_"


async def _items_in_every_state(db, rules) -> None:  # type: ignore[no-untyped-def]
    """Four items: one waiting, one accepted, one returned, one not adopted."""
    author = await add_member(db, "苏建华")
    staff = await add_member(db, "马晓燕", role="secretariat", telegram_user_id=9001)
    moves = {"waiting": None, "accepted": ("accept", None), "returned": ("return", "请补充数据"),
             "rejected": ("reject", "不属于本会职责")}  # fmt: skip
    for number, (title, move) in enumerate(moves.items()):
        async with db.session() as session:
            item = await info.submit(
                session, author_id=author.id, title=f"关于{title}的建议", category="民生保障",
                body="老旧小区加装电梯需求迫切，建议由街道牵头制定分摊方案。" * 3,
                now=NOW - timedelta(days=3, minutes=number), tz=SH, rules=rules,
            )
        if move is not None:
            async with db.session() as session:
                actor = await session.get(Member, staff.id)
                await info.apply_move(session, item_id=item.id, move=move[0], actor=actor, now=NOW - timedelta(days=2),
                                      tz=SH, text=move[1])


def _state_column(path, header_key: str, lang: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from bot.core.i18n import t

    ws = load_workbook(path).worksheets[0]
    headers = [c.value for c in ws[1]]
    state = headers.index(t(header_key, lang))
    return {row[0].value: row[state].value for row in ws.iter_rows(min_row=2)}


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_both_info_sheets_name_each_state_as_the_bot_does(db, rules, tmp_path, lang) -> None:
    """`lvzhi export info` and `lvzhi info export` show an item's state by the catalogue's one label
    for it (the one its card shows), never the raw code, and the same label in both."""
    from bot.core.i18n import t

    await _items_in_every_state(db, rules)
    async with db.session() as session:
        await export(session, ["info"], 2025, tmp_path / "figures.xlsx", rules=rules, zone=SH, lang=lang)
        await export_info_year(session, 2025, tmp_path / "record.xlsx", zone=SH, lang=lang)
    figures = _state_column(tmp_path / "figures.xlsx", "digest.xlsx.info_state", lang)
    record = _state_column(tmp_path / "record.xlsx", "info.export.state", lang)
    labels = {t(f"info.state.{code}", lang) for code in ("submitted", "accepted", "returned", "rejected")}
    assert len(figures) == 4 and set(figures.values()) == labels
    assert figures == record
    codes = {"submitted", "accepted", "returned", "rejected"}
    assert not codes & set(figures.values())
