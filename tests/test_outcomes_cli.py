"""The command line for what the annual report counts: `events add|import` with tags, organiser and
guests, `events outcome|document|instruction`, `log add|list`. Every value is checked: a refused one
gets one line, a non-zero exit, and nothing is stored."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from models import Event, EventGuest, EventTag, OutcomeQuantity, OutputDocument, WorkLogEntry
from models.db import Database
from tests.conftest import add_member


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("LOCALE", "zh")
    monkeypatch.setenv("TIMEZONE", "Asia/Shanghai")

    async def run(*args: str, ok: bool = True):  # type: ignore[no-untyped-def]
        # in a thread of its own, as beside a running bot: the command runs its own event loop
        result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
        if ok:
            assert result.exit_code == 0, (args, result.output, result.exception)
        else:
            assert result.exit_code != 0 and isinstance(result.exception, SystemExit), (args, result.output)
            assert "Traceback" not in result.output and result.stderr.strip().count("\n") == 0, result.stderr
        return result

    return run


async def _rows(db: Database, model):  # type: ignore[no-untyped-def]
    async with db.session() as session:
        return list((await session.exec(select(model))).all())


async def test_events_carry_tags_organiser_and_guests_from_add_and_import(cli, db, tmp_path):
    await add_member(db, "苏建华", committee="经济委员会")
    await add_member(db, "王秘书", role="secretariat", committee="办公室")
    added = await cli("events", "add", "--title", "老旧小区改造调研协商", "--kind", "consultation", "--start", "2099-04-08 14:30",
                "--tags", "调研协商、轮值协商", "--organiser", "经济", "--guests", "张某（区委书记）、李某（区长）")  # fmt: skip
    assert "已添加活动草稿 #1" in added.stdout
    refused = await cli("events", "add", "--title", "x", "--kind", "study", "--start", "2099-04-08 14:30", "--tags", "跳舞",
                  ok=False)  # fmt: skip
    assert "没有「跳舞」这个标签" in refused.stderr
    await cli("events", "add", "--title", "y", "--kind", "study", "--start", "2099-04-08 14:30", "--organiser", "财政局", ok=False)
    (tmp_path / "events.csv").write_text(
        "标题,类型,开始,标签,主办,邀请领导,范围\n"
        "机关学习：作风建设,study,2099-05-06 09:00,机关学习,机关,,机关干部\n"
        "委员大讲堂,study,2099-05-07 15:00,委员大讲堂,主席会议,王某（副区长）,全体\n",
        encoding="utf-8",
    )
    (tmp_path / "bad.csv").write_text("标题,类型,开始,标签\n好的,study,2099-05-06 09:00,党课\n坏的,study,2099-05-06 09:00,跳舞\n",
                                      encoding="utf-8")  # fmt: skip
    bad = await asyncio.to_thread(CliRunner().invoke, app, ["events", "import", "bad.csv"])
    assert bad.exit_code == 1 and "第 3 行" in bad.stderr and "跳舞" in bad.stderr
    assert len(await _rows(db, Event)) == 1  # nothing of the bad file was imported
    await cli("events", "import", "events.csv")
    events = {e.title: e for e in await _rows(db, Event)}
    tags = {(t.event_id, t.tag) for t in await _rows(db, EventTag)}
    guests = [(g.event_id, g.name) for g in await _rows(db, EventGuest)]
    first, office, lecture = events["老旧小区改造调研协商"], events["机关学习：作风建设"], events["委员大讲堂"]
    assert (first.organiser, first.organiser_unit) == ("committee", "经济委员会")
    assert (office.organiser, office.audience_kind, lecture.organiser) == ("office", "staff", "chairs")
    assert tags == {(first.id, "consult_research"), (first.id, "rotating_consult"), (office.id, "office_study"),
                    (lecture.id, "lecture_hall")}  # fmt: skip
    assert guests == [(first.id, "张某（区委书记）"), (first.id, "李某（区长）"), (lecture.id, "王某（副区长）")]


async def test_outcomes_documents_instructions_and_the_log(cli, db):
    await add_member(db, "苏建华", committee="经济委员会")
    await cli("events", "add", "--title", "调研协商", "--kind", "consultation", "--start", "2099-04-08 14:30")
    shown = (await cli("events", "outcome", "1", "-q", "建议=15", "-q", "走访 3", "--tags", "调研协商", "--guests", "张某")).stdout
    assert "建议：15 条" in shown and "走访：3 户" in shown and "标签：调研协商" in shown and "邀请领导：张某" in shown
    await cli("events", "outcome", "1", "-q", "建议=12")  # a correction replaces the amount
    await cli("events", "outcome", "1", "-q", "走访=0")  # 0 removes it
    for bad in (["-q", "建议=abc"], ["-q", "跳舞=3"], ["-q", "建议=-1"]):
        await cli("events", "outcome", "1", *bad, ok=False)
    await cli("events", "outcome", "99", "-q", "建议=1", ok=False)
    await cli("events", "outcome", ok=False)  # neither an event nor a report
    assert [(q.code, q.amount) for q in await _rows(db, OutcomeQuantity)] == [("suggestions", 12)]

    done = (await cli("events", "document", "--kind", "协商报告", "--title", "关于老旧小区改造的协商报告", "--event", "1")).stdout
    assert "文稿 #1" in done and "2099-04-08" in done
    await cli("events", "document", "--kind", "简报", "--title", "x", ok=False)
    await cli("events", "document", "--kind", "调研报告", "--title", "关于养老服务的调研报告", "--date", "2026-09-01")
    await cli("events", "instruction", "1", "--by", "区委书记张某", "--date", "2026-05-01")
    await cli("events", "instruction", "1", "--by", "  ", ok=False)
    await cli("events", "instruction", "7", "--by", "某", ok=False)
    docs = {d.id: d for d in await _rows(db, OutputDocument)}
    assert docs[1].instruction_by == "区委书记张某" and str(docs[1].instruction_on) == "2026-05-01"
    assert docs[2].event_id is None and str(docs[2].on_date) == "2026-09-01"

    await cli("log", "add", "--kind", "宣传简讯", "--date", "2026-03-02", "--note", "简讯：全会召开", "--marked")
    await cli("log", "add", "--kind", "briefing", "--date", "2026-03-09", "--note", "简讯：调研")
    await cli("log", "add", "--kind", "请示报告", "--date", "2026-04-01", "--count", "3")
    for bad in (["--kind", "请示报告", "--date", "2099-01-01"], ["--kind", "请示报告", "--date", "某天"],
                ["--kind", "跳舞", "--date", "2026-04-01"], ["--kind", "请示报告", "--date", "2026-04-01", "--marked"],
                ["--kind", "请示报告", "--date", "2026-04-01", "--count", "0"]):  # fmt: skip
        await cli("log", "add", *bad, ok=False)
    listed = (await cli("log", "list", "--year", "2026")).stdout
    assert "宣传简讯：共 2 篇，其中被转载 1" in listed and "向区委请示报告：共 3 次" in listed
    assert len(await _rows(db, WorkLogEntry)) == 3
