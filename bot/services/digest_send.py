"""Delivering the weekly digest through the outbox: text, chart (sendPhoto) and workbook
(sendDocument) for every secretariat member and the secretariat's chat, with one dedupe key per
week and recipient (`digest:<week>:<chat>`, plus `:chart:<subject>` / `:xlsx`), so it is never sent twice
and goes out late, at start-up, if the bot was down at the hour.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlmodel import col

from bot.core.config import Settings
from bot.core.i18n import normalize, t
from bot.core.rules import Rules
from bot.core.schedule import DigestTime
from bot.services.digest import Digest, IsoWeek, build_digest, caption, digest_week_for, render_text
from bot.services.figures import MB, run
from bot.services.outbox import enqueue
from models import Outbox, Role
from models.db import Database

log = logging.getLogger(__name__)

STAFF_ROLES = (Role.SECRETARIAT.value, Role.ADMIN.value)


def due_week(now: datetime, zone: tzinfo, when: DigestTime) -> IsoWeek | None:
    """The week whose digest should have been queued by `now` in the current week (None before the hour)."""
    this_week = IsoWeek.containing(now, zone)
    if now < when.due_in_week(this_week, zone):
        return None
    return digest_week_for(now, zone)


def files_dir(settings: Settings) -> Path:
    """Where the digest's PNG and XLSX wait for the outbox: next to a SQLite file, else a data dir."""
    if settings.data_dir:
        return Path(settings.data_dir) / "digests"
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / "digests"
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "lvzhi" / "digests" / (url.database or "default")


@dataclass(frozen=True)
class Recipient:
    chat_id: int
    member_id: int | None
    lang: str


async def recipients(db: Database, settings: Settings) -> list[Recipient]:
    """Active, bound, reachable secretariat members and admins, and SECRETARIAT_CHAT_ID if set."""
    async with db.session() as session:
        rows = (
            await run(session,
                select(MB.id, MB.telegram_user_id, MB.language)
                .where(
                    MB.active.is_(True),
                    MB.reachable.is_(True),
                    MB.telegram_user_id.is_not(None),
                    MB.role.in_(STAFF_ROLES),
                )
                .order_by(MB.id)
            )
        ).all()
    out = [Recipient(int(tg), mid, normalize(lang, settings.locale)) for mid, tg, lang in rows]
    if settings.secretariat_chat_id is not None and all(
        r.chat_id != settings.secretariat_chat_id for r in out
    ):
        out.append(Recipient(settings.secretariat_chat_id, None, settings.locale))
    return out


def dedupe_key(week: IsoWeek, chat_id: int) -> str:
    return f"digest:{week}:{chat_id}"


async def render_files(
    db: Database, digest: Digest, lang: str, folder: Path, *, rules: Rules, zone: tzinfo
) -> tuple[list[tuple[str, Path]], Path]:
    """The charts (one per subject) and the workbook of a digest in one language, written to `folder`."""
    from bot.services.digest_chart import render_pngs
    from bot.services.exports import digest_workbook

    await asyncio.to_thread(_prune, folder)
    charts = []
    for subject, data in await asyncio.to_thread(render_pngs, digest, lang, rules):
        png = folder / f"digest-{digest.week}-{lang}-{subject}.png"
        await asyncio.to_thread(_write, png, data)
        charts.append((subject, png))
    xlsx = folder / f"digest-{digest.week}-{lang}.xlsx"
    async with db.session() as session:
        await digest_workbook(session, digest.week, xlsx, rules=rules, zone=zone, lang=lang)
    return charts, xlsx


KEEP_FILES = timedelta(days=60)  # far longer than a queued digest waits (it expires after 7 days)


def _prune(folder: Path) -> None:
    """Old digests' files are no longer needed by the outbox."""
    if not folder.is_dir():
        return
    horizon = datetime.now().timestamp() - KEEP_FILES.total_seconds()
    for path in folder.glob("digest-*"):
        if path.stat().st_mtime < horizon:
            path.unlink(missing_ok=True)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)  # the outbox never reads a half-written file


def workbook_name(week: IsoWeek, lang: str) -> str:
    return f"履职周报-{week.year}年第{week.week}周.xlsx" if lang == "zh" else f"digest-{week}.xlsx"


async def queue_weekly_digest(
    db: Database, settings: Settings, rules: Rules, *, now: datetime, week: IsoWeek | None = None
) -> int:
    """Queue the digest of `week` (default: the previous ISO week) for every recipient that has not
    had it queued yet. Returns the number of recipients newly queued."""
    zone = settings.tz
    week = week or digest_week_for(now, zone)
    people = await recipients(db, settings)
    if not people:
        log.info("digest %s: no recipients (no bound secretariat member, no SECRETARIAT_CHAT_ID)", week)
        return 0
    async with db.session() as session:
        keys = [dedupe_key(week, r.chat_id) for r in people]
        done = set(
            (await run(session, select(col(Outbox.dedupe_key)).where(col(Outbox.dedupe_key).in_(keys)))).scalars()
        )
    todo = [r for r in people if dedupe_key(week, r.chat_id) not in done]
    if not todo:
        return 0
    async with db.session() as session:
        digest = await build_digest(session, week, now=now, rules=rules, zone=zone)
    folder = files_dir(settings)
    files = {
        lang: await render_files(db, digest, lang, folder, rules=rules, zone=zone)
        for lang in sorted({r.lang for r in todo})
    }
    expires = now + timedelta(days=7)  # by then the next digest is out
    queued = 0
    async with db.session() as session:
        for person in todo:
            key = dedupe_key(week, person.chat_id)
            charts, xlsx = files[person.lang]
            common: dict[str, Any] = {
                "chat_id": person.chat_id,
                "member_id": person.member_id,
                "now": now,
                "kind": "digest",
                "expires_at": expires,
            }
            if await enqueue(session, dedupe_key=key, text=render_text(digest, person.lang, rules), **common):
                queued += 1
            for subject, png in charts:
                await enqueue(
                    session,
                    dedupe_key=f"{key}:chart:{subject}",
                    method="sendPhoto",
                    text=caption(digest, person.lang, "chart", t(f"digest.chart_{subject}", person.lang)),
                    extra={"photo": f"file:{png}"},
                    **common,
                )
            await enqueue(
                session,
                dedupe_key=f"{key}:xlsx",
                method="sendDocument",
                text=caption(digest, person.lang, "xlsx"),
                extra={"document": f"file:{xlsx}", "filename": workbook_name(week, person.lang)},
                **common,
            )
    log.info("digest %s queued for %d recipient(s)", week, queued)
    return queued
