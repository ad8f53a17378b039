"""/digest for the secretariat (the digest now, as text, chart and workbook), and the weekly job
that queues it through the outbox at DIGEST_TIME (and at start-up when the hour was missed)."""

from __future__ import annotations

import asyncio
import io
import logging

from telegram import Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.digest import IsoWeek, WeekError, build_digest, caption, digest_week_for, render_text
from bot.digest_send import DigestTime, due_week, parse_digest_time, queue_weekly_digest, workbook_name
from bot.i18n import t
from handlers.common import PRIVATE, Context, deps, lang_of, menu_pattern, staff_only
from models import Member

log = logging.getLogger(__name__)

DEFAULT_TIME = DigestTime(0, parse_digest_time("MON 09:00").at)


@staff_only
async def digest_command(update: Update, context: Context, member: Member) -> None:
    d = deps(context)
    lang = lang_of(member, context)
    now = d.clock.now()
    args = context.args or []
    try:
        week = IsoWeek.parse(args[0]) if args else digest_week_for(now, d.settings.tz)
    except WeekError:
        await update.effective_chat.send_message(t("digest.bad_week", lang, text=args[0][:20]))  # type: ignore[union-attr]
        return
    if week > IsoWeek.containing(now, d.settings.tz):
        await update.effective_chat.send_message(t("digest.future_week", lang, week=str(week)))  # type: ignore[union-attr]
        return
    async with d.db.session() as session:
        digest = await build_digest(session, week, now=now, rules=d.rules, zone=d.settings.tz)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_message(render_text(digest, lang, d.rules))

    from bot.digest_chart import render_png
    from bot.exports import digest_workbook

    png = await asyncio.to_thread(render_png, digest, lang, d.rules)
    await chat.send_photo(png, caption=caption(digest, lang, "chart"))
    book = io.BytesIO()
    async with d.db.session() as session:
        await digest_workbook(session, week, book, rules=d.rules, zone=d.settings.tz, lang=lang)
    await chat.send_document(
        book.getvalue(), filename=workbook_name(week, lang), caption=caption(digest, lang, "xlsx")
    )


async def weekly_job(context: Context) -> None:
    d = deps(context)
    try:
        await queue_weekly_digest(d.db, d.settings, d.rules, now=d.clock.now())
    except Exception:
        log.exception("weekly digest could not be queued; it is retried at the next start-up")


def digest_time(text: str) -> DigestTime:
    try:
        return parse_digest_time(text)
    except ValueError as exc:
        log.warning("%s; using MON 09:00", exc)
        return DEFAULT_TIME


async def on_startup(app: Application) -> None:
    """Schedule the weekly digest; queue this week's now if its hour has passed and it is not queued."""
    d = app.bot_data["deps"]
    zone = d.settings.tz
    when = digest_time(d.settings.digest_time)
    assert app.job_queue is not None
    # PTB numbers weekdays from Sunday (0); ours from Monday.
    app.job_queue.run_daily(
        weekly_job,
        time=when.at.replace(tzinfo=zone),
        days=((when.weekday + 1) % 7,),
        name="weekly-digest",
        job_kwargs={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    now = d.clock.now()
    if due_week(now, zone, when) is None:
        return
    try:
        queued = await queue_weekly_digest(d.db, d.settings, d.rules, now=now)
    except Exception:
        log.exception("weekly digest could not be queued at start-up")
        return
    if queued:
        log.info("weekly digest was due and not yet queued: queued late for %d recipient(s)", queued)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("digest", digest_command))
    app.add_handler(MessageHandler(PRIVATE & filters.Regex(menu_pattern("menu.digest")), digest_command))
