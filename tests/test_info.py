"""社情民意信息 services on SQLite and PostgreSQL: numbering (also under concurrency), every legal
and illegal move, notices, the duplicate hint, points, statistics and the Excel export."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlmodel import col, func, select

from bot.core.rules import load_rules, parse_rules
from bot.services import info
from bot.services.exports import export_info_year
from bot.services.figures import Period, member_points
from models import InfoAttachment, InfoAuthor, InfoEvent, InfoItem, InfoSequence, Outbox
from tests.conftest import add_member

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
RULES_FILE = Path(__file__).parents[1] / "bot" / "core" / "rules.default.toml"
RULES = load_rules(RULES_FILE)
RULES_TEXT = RULES_FILE.read_text(encoding="utf-8")
BODY = (
    "我区部分老旧小区加装电梯推进缓慢，居民意见分歧大，资金筹措难，审批环节多。"
    "建议区住建局牵头简化审批流程，设立专项补贴，并由街道组织协商，推动加装电梯尽快落地。"
)


def body(n: int = 0) -> str:
    return BODY + f"（第{n}号）" if n else BODY


async def _people(db):
    author = await add_member(db, "苏建华", telegram_user_id=1001, language="zh")
    coauthor = await add_member(db, "Liao Yan", telegram_user_id=1002, language="en")
    staff = await add_member(db, "机关小王", role="secretariat", telegram_user_id=9001)
    other = await add_member(db, "朱宇浩", telegram_user_id=1003)
    return author, coauthor, staff, other


async def _submit(db, author, *, now=NOW, coauthors=(), title="老旧小区加装电梯推进难", text=None, **kw):
    async with db.session() as session:
        return await info.submit(
            session,
            author_id=author.id,
            title=title,
            category="民生保障",
            body=text or body(),
            now=now,
            tz=TZ,
            rules=RULES,
            coauthor_ids=[c.id for c in coauthors],
            **kw,
        )


async def _move(db, item, move, actor, now=NOW, **kw):
    async with db.session() as session:
        return await info.apply_move(session, item_id=item.id, move=move, actor=actor, now=now, tz=TZ, **kw)


async def _state(db, item_id):
    async with db.session() as session:
        return (await session.get(InfoItem, item_id)).state


async def _count(db, model, *where):
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(model).where(*where))).one()


# --------------------------------------------------------------------------- numbering


async def test_numbers_run_per_local_year_with_authors_and_files(db):
    author, coauthor, _staff, _ = await _people(db)
    files = [
        info.AttachmentIn(kind="photo", file_id="AgAC1", file_unique_id="u1", file_size=1000),
        info.AttachmentIn(
            kind="document", file_id="BQAC2", file_name="材料.pdf", mime_type="application/pdf"
        ),
    ]
    first = await _submit(db, author, coauthors=[coauthor], attachments=files)
    second = await _submit(db, author, text=body(2))
    assert (first.number, second.number) == ("SQ-2025-0001", "SQ-2025-0002")
    # 31 Dec 17:30 UTC is already 1 January in Shanghai: the new year's sequence starts at 1
    new_year = await _submit(db, author, now=datetime(2025, 12, 31, 17, 30, tzinfo=UTC), text=body(3))
    assert new_year.number == "SQ-2026-0001" and new_year.year == 2026
    async with db.session() as session:
        authors = (
            await session.exec(
                select(InfoAuthor).where(InfoAuthor.item_id == first.id).order_by(col(InfoAuthor.position))
            )
        ).all()
        assert [(a.member_id, a.position) for a in authors] == [(author.id, 0), (coauthor.id, 1)]
        stored = (await session.exec(select(InfoAttachment).where(InfoAttachment.item_id == first.id))).all()
        assert sorted(a.kind for a in stored) == ["document", "photo"]
        events = (await session.exec(select(InfoEvent).where(InfoEvent.item_id == first.id))).all()
        assert [e.kind for e in events] == ["submitted"]


async def test_thirty_concurrent_submissions_get_distinct_numbers_without_gaps(db):
    authors = [await add_member(db, f"委员{i:02d}", telegram_user_id=2000 + i) for i in range(30)]

    async def one(i: int) -> str:
        item = await _submit(db, authors[i], title=f"第{i}条关于交通的信息", text=body(i) + "交通" * i)
        return item.number

    numbers = await asyncio.gather(*(one(i) for i in range(30)))
    assert sorted(numbers) == [f"SQ-2025-{n:04d}" for n in range(1, 31)]
    async with db.session() as session:
        assert (await session.get(InfoSequence, 2025)).value == 30


async def test_a_refused_submission_gives_its_number_back(db):
    author, *_ = await _people(db)
    with pytest.raises(info.InfoError) as err:
        await _submit(db, author, text="太短了")
    assert err.value.code == "body_short"
    with pytest.raises(info.InfoError):
        await _submit(db, author, title="短")
    item = await _submit(db, author)
    assert item.number == "SQ-2025-0001"
    assert await _count(db, InfoItem) == 1


async def test_the_same_draft_submitted_twice_is_stored_once(db):
    author, *_ = await _people(db)
    first = await _submit(db, author, draft_key="1001:abc")
    with pytest.raises(info.AlreadySubmitted) as again:
        await _submit(db, author, draft_key="1001:abc")
    assert again.value.number == first.number
    assert await _count(db, InfoItem) == 1
    assert (await _submit(db, author, text=body(5))).number == "SQ-2025-0002"  # no gap


# --------------------------------------------------------------------------- workflow


async def _item_in(db, state: str, author, staff, n: int):
    item = await _submit(db, author, title=f"关于第{n}个问题的信息", text=body(n) + "情况" * n)
    if state == "accepted":
        await _move(db, item, "accept", staff)
    elif state in ("returned", "rejected"):
        await _move(db, item, "return" if state == "returned" else "reject", staff, text="请补充数据")
    return item


MOVE_ARGS = {
    "return": {"text": "请补充"},
    "reject": {"text": "不属于本区"},
    "report": {"level": "city"},
    "transfer": {"target": "区住建局"},
    "instruction": {"level": "district", "text": "请研究"},
    "feedback": {"text": "已回复"},
}


@pytest.mark.parametrize("state", info.STATES)
async def test_every_move_from_every_state(db, state):
    author, _, staff, _ = await _people(db)
    for n, move in enumerate(info.MOVES, start=1):
        item = await _item_in(db, state, author, staff, n)
        before = await _count(db, InfoEvent, InfoEvent.item_id == item.id)
        actor = author if move == "resubmit" else staff
        legal = state in info.MOVES[move].sources
        if move == "resubmit":
            call = _resubmit(db, item, actor)
        else:
            call = _move(db, item, move, actor, **MOVE_ARGS.get(move, {}))
        if legal:
            await call
            expected = info.MOVES[move].target or state
            assert await _state(db, item.id) == expected, (state, move)
            assert await _count(db, InfoEvent, InfoEvent.item_id == item.id) == before + 1
        else:
            with pytest.raises(info.InfoError) as err:
                await call
            assert err.value.code == f"illegal_{move}", (state, move)
            assert await _state(db, item.id) == state
            assert await _count(db, InfoEvent, InfoEvent.item_id == item.id) == before


async def _resubmit(db, item, actor, now=NOW, title="修改后的标题五个字以上"):
    async with db.session() as session:
        return await info.resubmit(
            session,
            item_id=item.id,
            actor=actor,
            title=title,
            category="教育",
            body=body(99),
            now=now,
            rules=RULES,
        )


async def test_members_cannot_move_items_and_strangers_cannot_resubmit(db):
    author, coauthor, staff, other = await _people(db)
    item = await _submit(db, author, coauthors=[coauthor])
    for move in info.STAFF_MOVES:
        with pytest.raises(info.InfoError) as err:
            await _move(db, item, move, author, **MOVE_ARGS.get(move, {}))
        assert err.value.code == "not_allowed"
    await _move(db, item, "return", staff, text="请补充数据来源")
    for outsider in (other, staff):
        with pytest.raises(info.InfoError) as err:
            await _resubmit(db, item, outsider)
        assert err.value.code == "not_yours"
    assert await _state(db, item.id) == "returned"
    # a co-author may revise it; the number stays
    again = await _resubmit(db, item, coauthor, now=NOW + timedelta(days=1))
    assert again.number == item.number and again.state == "submitted" and again.category == "教育"


async def test_accept_with_edits_keeps_the_original(db):
    author, _, staff, _ = await _people(db)
    item = await _submit(db, author)
    new_body = body() + "（机关编辑）"
    accepted, _ = await _move(
        db, item, "accept", staff, new_title="关于加快老旧小区加装电梯的建议", new_body=new_body
    )
    assert accepted.title == "关于加快老旧小区加装电梯的建议" and accepted.body == new_body
    assert accepted.original_title == "老旧小区加装电梯推进难" and accepted.original_body == body()
    with pytest.raises(info.InfoError):  # an edit is checked like the member's text
        await _move(db, await _submit(db, author, text=body(7)), "accept", staff, new_title="短")


async def test_reports_need_a_new_level_and_a_sensible_date(db):
    author, _, staff, _ = await _people(db)
    item = await _submit(db, author)
    await _move(db, item, "accept", staff)
    await _move(db, item, "report", staff, level="city", on_date=date(2025, 3, 3))
    await _move(db, item, "report", staff, level="region")
    refusals = [
        ({"level": "city"}, "already_reported"),
        ({"level": "galaxy"}, "level"),
        ({"level": "national", "on_date": date(2025, 3, 4)}, "date_range"),
        ({"level": "national", "on_date": date(2025, 3, 2)}, "date_range"),
    ]
    for kwargs, code in refusals:
        with pytest.raises(info.InfoError) as err:
            await _move(db, item, "report", staff, **kwargs)
        assert err.value.code == code
    with pytest.raises(info.InfoError) as err:
        await _move(db, item, "transfer", staff, target="  ")
    assert err.value.code == "target_missing"
    with pytest.raises(info.InfoError) as err:
        await _move(db, item, "feedback", staff, text="x" * (info.FEEDBACK_MAX + 1))
    assert err.value.code == "text_long"
    async with db.session() as session:
        assert await info.reported_levels(session, item.id) == {"city", "region"}
        events = (
            await session.exec(
                select(InfoEvent).where(InfoEvent.kind == "reported").order_by(col(InfoEvent.id))
            )
        ).all()
        assert [e.on_date for e in events] == [date(2025, 3, 3), date(2025, 3, 3)]  # default: today (local)


async def test_every_step_notifies_every_other_author_once_in_their_language(db):
    author, coauthor, staff, _ = await _people(db)
    item = await _submit(db, author, coauthors=[coauthor])
    _, accepted = await _move(db, item, "accept", staff)
    _, reported = await _move(db, item, "report", staff, level="city")
    async with db.session() as session:
        rows = (await session.exec(select(Outbox).order_by(col(Outbox.id)))).all()
    by_key = {r.dedupe_key: r for r in rows}
    assert len(by_key) == len(rows) == 5  # submission: co-author only; accept, report: both authors
    submitted_key = [
        k for k in by_key if k.startswith(f"info:{item.id}:event:") and k.endswith(f":{coauthor.id}")
    ]
    assert len(submitted_key) == 3
    zh = by_key[f"info:{item.id}:event:{reported.id}:{author.id}"]
    en = by_key[f"info:{item.id}:event:{reported.id}:{coauthor.id}"]
    assert zh.chat_id == 1001 and "报送市级" in zh.payload["text"] and item.number in zh.payload["text"]
    assert en.chat_id == 1002 and "reported to the city level" in en.payload["text"]
    assert "accepted" in by_key[f"info:{item.id}:event:{accepted.id}:{coauthor.id}"].payload["text"]
    assert not any(
        k.endswith(f":{author.id}") and "event" in k and r.payload["text"].startswith("📮")
        for k, r in by_key.items()
    )


async def test_new_items_reach_the_secretariat_chat_with_the_duplicate_hint(db):
    author, coauthor, _staff, other = await _people(db)
    first = await _submit(db, author, staff_chat_id=-100500)
    near_copy = await _submit(
        db,
        other,
        title="老旧小区加装电梯推进很难",
        text=body() + "望重视。",
        now=NOW + timedelta(days=30),
        staff_chat_id=-100500,
    )
    unrelated = await _submit(
        db,
        coauthor,
        title="中小学课后服务收费问题",
        text="部分学校课后服务收费标准不一，家长负担较重，服务内容单一。建议教育局统一收费标准，"
        "公开服务内容，引入社会力量丰富课程，并加强监督检查。",
        now=NOW + timedelta(days=31),
    )
    late_copy = await _submit(
        db, other, title="老旧小区加装电梯推进难", text=body(), now=NOW + timedelta(days=200)
    )
    assert first.duplicate_of is None and unrelated.duplicate_of is None
    assert near_copy.duplicate_of == first.number
    assert late_copy.duplicate_of is None  # more than 90 days after both
    async with db.session() as session:
        staff_rows = (
            await session.exec(select(Outbox).where(Outbox.chat_id == -100500).order_by(col(Outbox.id)))
        ).all()
    assert len(staff_rows) == 2 and f"可能与 {first.number} 重复" in staff_rows[1].payload["text"]


async def test_the_duplicate_check_reads_before_the_number_is_taken(db):
    """The check reads the window before the submission takes the year's number (a row lock on
    PostgreSQL until commit): no one waits on the lock while texts are compared."""
    from sqlalchemy import event

    author, _coauthor, _staff, other = await _people(db)
    await _submit(db, author)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        copy = await _submit(db, other, title="老旧小区加装电梯推进很难", text=body() + "望重视。",
                             now=NOW + timedelta(days=1))
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    numbering = next(i for i, sql in enumerate(statements) if sql.startswith("UPDATE info_sequence"))
    window = next(i for i, sql in enumerate(statements) if "FROM info_item WHERE info_item.submitted_at >=" in sql)
    assert window < numbering, statements[: numbering + 1]
    assert copy.duplicate_of is not None


async def test_duplicates_are_found_through_kept_fingerprints_and_in_items_stored_before_them(db):
    author, coauthor, staff, other = await _people(db)
    first = await _submit(db, author)
    async with db.session() as session:
        kept = await session.get(InfoItem, first.id)
        assert len(kept.signature) == 4 * info.SIGNATURE_SIZE and kept.bigrams
        # an item stored before fingerprints were kept
        older_text = "部分学校课后服务收费标准不一，家长负担较重，服务内容单一。建议教育局统一收费标准，公开服务内容，引入社会力量。"
        session.add(InfoItem(number="SQ-2025-0900", year=2025, seq=900, author_id=coauthor.id,
                             title="中小学课后服务收费问题", body=older_text, category="民生保障",
                             submitted_at=NOW, last_submitted_at=NOW, updated_at=NOW))
    copy_of_older = await _submit(db, other, title="中小学课后服务收费的问题", text=older_text + "望采纳。",
                                  now=NOW + timedelta(days=2))
    copy_of_first = await _submit(db, other, title="老旧小区加装电梯推进很难", text=body() + "望重视。",
                                  now=NOW + timedelta(days=3))
    assert (copy_of_older.duplicate_of, copy_of_first.duplicate_of) == ("SQ-2025-0900", first.number)
    # an edit on acceptance changes what later items are compared with
    await _move(db, copy_of_first, "accept", staff, new_body="中小学课后服务收费标准不一的问题。" * 4 + "建议统一标准。")
    async with db.session() as session:
        edited = await session.get(InfoItem, copy_of_first.id)
    assert edited.bigrams == info.fingerprint(edited.title, edited.body).text


# --------------------------------------------------------------------------- points and statistics


@dataclass
class _InfoPoints:
    submitted: int
    points: float


async def _info_points(session, member_id, period, rules) -> _InfoPoints:  # type: ignore[no-untyped-def]
    """The 社情民意 part of a member's points, from the one points engine (bot.services.figures)."""
    summary = await member_points(session, member_id, period, rules)
    return _InfoPoints(summary.info_submitted, summary.info_points)


async def test_points_share_bonus_by_highest_level_and_cap(db):
    author, coauthor, staff, _ = await _people(db)
    one = await _submit(db, author, coauthors=[coauthor])
    await _move(db, one, "accept", staff)
    await _move(db, one, "report", staff, level="region")
    await _move(db, one, "report", staff, level="city")
    await _move(db, one, "instruction", staff, level="city")
    two = await _submit(db, author, text=body(2))
    await _move(db, two, "reject", staff, text="重复")
    await _submit(db, author, text=body(3), now=datetime(2024, 6, 1, tzinfo=UTC))  # another year
    period = Period.of_year(2025, TZ)
    async with db.session() as session:
        mine = await _info_points(session, author.id, period, RULES)
        theirs = await _info_points(session, coauthor.id, period, RULES)
    # one: 5 + region 12 (highest, not the sum) + instruction 5 = 22; two: 5 (submission only)
    assert mine.submitted == 2 and mine.points == 27
    assert theirs.submitted == 1 and theirs.points == 11  # half of 22
    capped = parse_rules(RULES_TEXT.replace("cap = 30\ncoauthor", "cap = 20\ncoauthor"))
    async with db.session() as session:
        assert (await _info_points(session, author.id, period, capped)).points == 20
        empty = await _info_points(session, staff.id, period, RULES)
    assert (empty.submitted, empty.points) == (0, 0)


async def test_statistics_for_a_range(db):
    author, _, staff, _ = await _people(db)
    day = timedelta(days=1)
    items = [await _submit(db, author, text=body(i) + "统计" * i, now=NOW + i * day) for i in range(1, 6)]
    await _move(db, items[0], "accept", staff, now=NOW + 6 * day)
    await _move(db, items[1], "accept", staff, now=NOW + 6 * day)
    await _move(db, items[2], "reject", staff, text="不予采用", now=NOW + 6 * day)
    await _move(db, items[3], "return", staff, text="补充", now=NOW + 6 * day)
    await _move(db, items[0], "report", staff, level="city", now=NOW + 7 * day)
    await _move(db, items[0], "report", staff, level="region", now=NOW + 7 * day)
    await _move(db, items[1], "report", staff, level="city", now=NOW + 7 * day)
    await _move(db, items[0], "transfer", staff, target="12345热线", now=NOW + 8 * day)
    await _move(db, items[1], "transfer", staff, target="区教育局", now=NOW + 8 * day)
    await _move(db, items[1], "transfer", staff, target="区财政局", now=NOW + 8 * day)
    await _move(db, items[0], "feedback", staff, text="已办结", now=NOW + 20 * day)
    await _move(db, items[1], "instruction", staff, level="district", now=NOW + 9 * day)
    async with db.session() as session:
        whole = await info.info_statistics(session, NOW, NOW + 30 * day)
        early = await info.info_statistics(session, NOW, NOW + 10 * day)
        later = await info.info_statistics(session, NOW + 10 * day, NOW + 30 * day)
    assert (whole.submitted, whole.accepted, whole.rejected, whole.returned) == (5, 2, 1, 1)
    assert (
        whole.reported == {"district": 0, "city": 2, "region": 1, "national": 0} and whole.reported_total == 3
    )
    assert (whole.transferred, whole.instructions, whole.feedback, whole.waiting_feedback) == (2, 1, 1, 1)
    assert early.waiting_feedback == 2 and early.feedback == 0 and early.not_adopted == 1
    assert (
        later.submitted == 0
        and later.feedback == 1
        and later.transferred == 0
        and later.waiting_feedback == 1
    )


# --------------------------------------------------------------------------- checks and export


def test_advice_and_files():
    assert info.advice("标题标题", BODY) == []
    long_body = "情况" * 800
    assert info.advice("标题", long_body) == ["info.advice.long", "info.advice.no_suggestion"]
    several = "\n".join(f"{n}、问题{n}，建议解决。" for n in "一二三四五")
    assert "info.advice.several" in info.advice("标题", several)
    info.check_document("建议.docx", None, 1000)
    info.check_document("scan", "application/pdf", info.MAX_FILE_BYTES)
    for name, mime, size, code in (
        ("a.exe", "application/octet-stream", 10, "file_kind"),
        ("a.pdf", "application/pdf", info.MAX_FILE_BYTES + 1, "file_big"),
    ):
        with pytest.raises(info.InfoError) as err:
            info.check_document(name, mime, size)
        assert err.value.code == code


async def test_export_has_every_item_and_its_history(db, tmp_path):
    author, coauthor, staff, _ = await _people(db)
    item = await _submit(
        db,
        author,
        coauthors=[coauthor],
        attachments=[info.AttachmentIn(kind="document", file_id="F1", file_name="附件.pdf")],
    )
    await _move(db, item, "accept", staff, new_title="关于加装电梯的建议")
    await _move(db, item, "report", staff, level="city")
    await _submit(db, author, text=body(2), now=datetime(2024, 5, 1, tzinfo=UTC))  # other year
    out = tmp_path / "info.xlsx"
    async with db.session() as session:
        assert await export_info_year(session, 2025, out, zone=TZ) == 1
    book = load_workbook(out)
    items, history = book["信息"], book["处理记录"]
    header = [c.value for c in items[1]]
    row = dict(zip(header, [c.value for c in items[2]], strict=True))
    assert items.max_row == 2
    assert (
        row["编号"] == item.number
        and row["标题"] == "关于加装电梯的建议"
        and row["原标题"] == "老旧小区加装电梯推进难"
    )
    assert row["合作者"] == "Liao Yan" and row["最高层级"] == "市级" and row["附件"] == "附件.pdf"
    assert row["正文"] == body() and row["状态"] == "已采用"
    steps = [[c.value for c in r] for r in history.iter_rows(min_row=2)]
    assert [s[2] for s in steps] == ["提交", "采用", "报送"] and steps[2][3] == "市级"


async def test_cli_export_writes_the_workbook(db, db_url, tmp_path):
    import os
    import subprocess
    import sys

    author, *_ = await _people(db)
    item = await _submit(db, author)
    out = tmp_path / "out" / "info-2025.xlsx"
    env = {**os.environ, "DATABASE_URL": db_url, "TELEGRAM_BOT_TOKEN": ""}
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "info", "export", "--year", "2025", "--out", str(out)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "1" in result.stdout and await asyncio.to_thread(out.exists)
    book = await asyncio.to_thread(load_workbook, out)
    assert book["信息"]["A2"].value == item.number
