"""/digest for the secretariat (the digest now, as text, chart and workbook), and the weekly job
that queues it through the outbox at DIGEST_TIME (and at start-up when the hour was missed)."""

from __future__ import annotations

import asyncio
import io
import logging

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.core.i18n import t
from bot.core.schedule import DigestTime, parse_digest_time
from bot.services.digest import (
    IsoWeek,
    WeekError,
    build_digest,
    caption,
    digest_week_for,
    render_text,
    week_label,
)
from bot.services.digest_send import due_week, queue_weekly_digest, workbook_name
from handlers.common import PRIVATE, Context, answer_once, deps, lang_of, menu_pattern, staff_only
from models import Member

log = logging.getLogger(__name__)

DEFAULT_TIME = DigestTime(0, parse_digest_time("MON 09:00").at)


@staff_only
async def digest_command(update: Update, context: Context, member: Member) -> None:
    """/digest: offers 上周 and 本周至今; /digest 2026-W48 goes straight to that week."""
    d = deps(context)
    lang = lang_of(member, context)
    chat = update.effective_chat
    assert chat is not None
    now, zone = d.clock.now(), d.settings.tz
    args = context.args or []
    if not args:
        this_week = IsoWeek.containing(now, zone)
        last_week = digest_week_for(now, zone)
        buttons = [
            [InlineKeyboardButton(t("digest.btn_last_week", lang, week=week_label(last_week, lang)),
                                  callback_data=f"dg:w:{last_week}")],
            [InlineKeyboardButton(t("digest.btn_this_week", lang, week=week_label(this_week, lang)),
                                  callback_data=f"dg:w:{this_week}")],
        ]  # fmt: skip
        await chat.send_message(t("digest.choose_week", lang), reply_markup=InlineKeyboardMarkup(buttons))
        return
    try:
        week = IsoWeek.parse(args[0])
    except WeekError:
        await chat.send_message(t("digest.bad_week", lang, text=args[0][:20]))
        return
    await send_digest(context, chat, week, lang)


@staff_only
async def digest_button(update: Update, context: Context, member: Member) -> None:
    """A press of 上周 / 本周至今: the role is checked again (staff_only), the week too."""
    assert update.callback_query is not None and update.effective_chat is not None
    lang = lang_of(member, context)
    try:
        week = IsoWeek.parse((update.callback_query.data or "").removeprefix("dg:w:"))
    except WeekError:
        await answer_once(update, t("common.stale_button", lang), alert=True)
        return
    await answer_once(update)
    await send_digest(context, update.effective_chat, week, lang)


async def send_digest(context: Context, chat: Chat, week: IsoWeek, lang: str) -> None:
    """The digest of `week` as of now: text, one chart per subject, the workbook."""
    d = deps(context)
    now, zone = d.clock.now(), d.settings.tz
    if week > IsoWeek.containing(now, zone):
        await chat.send_message(t("digest.future_week", lang, week=week_label(week, lang)))
        return
    async with d.db.session() as session:
        digest = await build_digest(session, week, now=now, rules=d.rules, zone=zone)
    await chat.send_message(render_text(digest, lang, d.rules))

    from bot.services.digest_chart import render_pngs
    from bot.services.exports import digest_workbook

    for subject, png in await asyncio.to_thread(render_pngs, digest, lang, d.rules):
        await chat.send_photo(png, caption=caption(digest, lang, "chart", t(f"digest.chart_{subject}", lang)))
    book = io.BytesIO()
    async with d.db.session() as session:
        await digest_workbook(session, week, book, rules=d.rules, zone=zone, lang=lang)
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
    app.add_handler(CallbackQueryHandler(digest_button, pattern=r"^dg:w:"))
    app.add_handler(MessageHandler(PRIVATE & filters.Regex(menu_pattern("menu.digest")), digest_command))
