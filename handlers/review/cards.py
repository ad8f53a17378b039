"""/review: pending activity reports, one card at a time, oldest first: 通过, 退回 (asks for the
reason the member reads) or 跳过 (later in this round).

Every button press is checked again: the caller's role (staff_only) and the report's state in the
database (a forged, stale or already-decided button changes nothing).
"""

from __future__ import annotations

import logging

from telegram import InputMediaPhoto, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.core.dates import format_day, format_moment, today_in
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.services import activities
from bot.services.activities import Decision
from bot.telegram.ui import (
    ROW_IDS,
    App,
    Buttons,
    Context,
    Prompt,
    answer_once,
    close_card,
    close_pressed,
    deps_of,
    keyboard,
    pressed_text,
    refuse,
    reply,
    show,
)
from handlers.common import PRIVATE, TYPED, lang_of, load_member, menu_button, staff_only, typed_text
from handlers.dialog import END, Next, dialog, leave
from models import ActivityReport, Member
from models.activity import PENDING

log = logging.getLogger(__name__)

REASON = "reason"
SKIP_KEY = "review_skip"
REASON_KEY = "review_return"

BUTTONS = Buttons("rv")
APPROVE = BUTTONS("ok", numbers=ROW_IDS)
RETURN = BUTTONS("ret", numbers=ROW_IDS)
SKIP = BUTTONS("skip", numbers=ROW_IDS)


async def _mark(update: Update, outcome: str) -> None:
    """Close the pressed card, its text followed by the outcome."""
    await close_pressed(update, f"{pressed_text(update)}\n\n{outcome}")


def card_text(
    context: Context, report: ActivityReport, author: Member | None, photos: int, waiting: int, lang: str
) -> str:
    d = context.deps
    activity = d.rules.activities.get(report.type_code)
    today = today_in(d.clock.now(), d.settings.tz)
    submitted = format_moment(report.submitted_at, d.settings.tz, lang, today)
    text = t(
        "review.card",
        lang,
        waiting=waiting,
        id=report.id,
        name=author.name if author else "?",
        sector=(author.sector if author else "") or "—",
        type=activity.label(lang) if activity else report.type_code,
        date=format_day(report.activity_date, lang, today),
        submitted=submitted,
        photos=photos,
        points=f"{(activity.points if activity else report.points):g}",
        description=report.description,
    )
    if report.return_reason:
        text += "\n\n" + t("review.card_resubmitted", lang, reason=report.return_reason)
    return text


async def show_next(update: Update, context: Context, member: Member) -> None:
    """The oldest pending report not skipped in this round, with its photos, or "nothing left"."""
    chat = update.effective_chat
    assert chat is not None
    lang = lang_of(member, context)
    skipped = list((context.user_data or {}).get(SKIP_KEY) or [])
    async with context.deps.db.session() as session:
        report = await activities.next_pending(session, skip=skipped)
        waiting = await activities.pending_count(session)
        if report is None:
            author, photos = None, []
        else:
            assert report.id is not None
            author = await session.get(Member, report.member_id)
            photos = await activities.photos_of(session, report.id)
    await answer_once(update)
    if report is None:
        key = "review.none_left_skipped" if skipped and waiting else "review.none_left"
        await reply(update, t(key, lang, skipped=len(skipped)))
        return
    assert report.id is not None
    pictures = [p for p in photos if p.kind == "photo"]
    if len(pictures) == 1:
        await chat.send_photo(pictures[0].file_id)
    elif pictures:
        await chat.send_media_group([InputMediaPhoto(p.file_id) for p in pictures])
    for doc in (p for p in photos if p.kind == "document"):
        await chat.send_document(doc.file_id)
    rows = [
        [
            (t("review.btn_approve", lang), APPROVE(report.id)),
            (t("review.btn_return", lang), RETURN(report.id)),
            (t("review.btn_skip", lang), SKIP(report.id)),
        ]
    ]
    await reply(update, card_text(context, report, author, len(photos), waiting, lang), keyboard(rows))


@staff_only
async def review_command(update: Update, context: Context, member: Member) -> None:
    """/review: start a round, oldest pending report first."""
    assert context.user_data is not None
    context.user_data[SKIP_KEY] = []
    await show_next(update, context, member)


@staff_only
async def approve(update: Update, context: Context, member: Member) -> None:
    """通过: credit the points; only the first of two racing reviewers decides."""
    lang = lang_of(member, context)
    report_id = APPROVE.read(update).number
    d = context.deps
    assert member.id is not None
    async with d.db.session() as session:
        decision = await activities.approve_report(
            session,
            report_id=report_id,
            reviewer_id=member.id,
            now=d.clock.now(),
            rules=d.rules,
            default_lang=d.settings.locale,
        )
    if decision is not Decision.DONE:
        await refuse(update, t(f"review.{decision.value}", lang))
        await _mark(update, t("review.marked_handled", lang))
        return
    await answer_once(update, t("review.approved", lang))
    await _mark(update, t("review.marked_approved", lang, reviewer=member.name))
    await show_next(update, context, member)


@staff_only
async def skip(update: Update, context: Context, member: Member) -> None:
    """跳过: leave it for later in this round."""
    report_id = SKIP.read(update).number
    assert context.user_data is not None
    skipped = list(context.user_data.get(SKIP_KEY) or [])
    if report_id not in skipped:
        skipped.append(report_id)
    context.user_data[SKIP_KEY] = skipped
    await _mark(update, t("review.marked_skipped", lang_of(member, context)))
    await show_next(update, context, member)


async def _still_pending(update: Update, context: Context, report_id: int, lang: str) -> bool:
    """Whether the report still waits for a decision; if not, the press is refused (and a card of a
    report decided meanwhile says so)."""
    async with context.deps.db.session() as session:
        report = await session.get(ActivityReport, report_id)
    if report is None:
        await refuse(update, t("review.not_found", lang))
        return False
    if report.status != PENDING:
        await refuse(update, t("review.already_handled", lang))
        await _mark(update, t("review.marked_handled", lang))
        return False
    return True


@staff_only
async def ask_reason(update: Update, context: Context, member: Member) -> Next:
    """退回: ask for the reason the member will read."""
    lang, report_id = lang_of(member, context), RETURN.read(update).number
    if not await _still_pending(update, context, report_id, lang):
        return END
    card = update.callback_query.message if update.callback_query else None
    assert context.user_data is not None
    context.user_data[REASON_KEY] = {
        "report": report_id,
        "card": card.message_id if card is not None else None,
        "text": pressed_text(update),
    }
    await show(update, await _reason_prompt(update, context, lang))
    return REASON


async def _reason_prompt(update: Update, context: Context, lang: str) -> Prompt:
    pending = (context.user_data or {}).get(REASON_KEY) or {}
    return t("review.ask_reason", lang, id=pending.get("report", ""), max=activities.MAX_REASON), None


@staff_only
async def reason_given(update: Update, context: Context, member: Member) -> Next:
    assert member.id is not None and context.user_data is not None and update.effective_chat is not None
    lang = lang_of(member, context)
    reason = typed_text(update)
    if len(reason) < 2 or len(reason) > activities.MAX_REASON:
        raise AskAgain("review.reason_length", hand_back=len(reason) > 2, max=activities.MAX_REASON)
    pending = context.user_data.pop(REASON_KEY)
    report_id = pending["report"]
    d = context.deps
    async with d.db.session() as session:
        decision = await activities.return_report(
            session,
            report_id=report_id,
            reviewer_id=member.id,
            reason=reason,
            now=d.clock.now(),
            rules=d.rules,
            default_lang=d.settings.locale,
        )
    key = "review.returned" if decision is Decision.DONE else f"review.{decision.value}"
    await reply(update, t(key, lang, id=report_id))
    if pending.get("card"):  # the card is handled: it shows how, and its buttons are gone
        outcome = (
            t("review.marked_returned", lang, reviewer=member.name, reason=reason)
            if decision is Decision.DONE
            else t("review.marked_handled", lang)
        )
        text = f"{pending['text']}\n\n{outcome}"
        await close_card(context.bot, update.effective_chat.id, pending["card"], text)
    await show_next(update, context, member)
    return END


async def reason_cancel(update: Update, context: Context) -> int:
    """/cancel instead of a reason: the report stays pending."""
    return await leave(
        update, context, REASON_KEY, "review.return_cancelled", await load_member(update, context)
    )


def register(app: App) -> None:
    returning = dialog(
        "review_return",
        prompts={REASON: _reason_prompt},
        data_key=REASON_KEY,
        timeout_minutes=deps_of(app).settings.dialog_timeout_minutes,
        # no `buttons`: the other cards' buttons stay live while a reason is asked for
        entry_points=[CallbackQueryHandler(ask_reason, pattern=RETURN.matches)],
        states={REASON: [MessageHandler(TYPED, reason_given)]},
        fallbacks=[CommandHandler("cancel", reason_cancel)],
    )
    app.add_handler(returning)
    app.add_handler(CommandHandler("review", review_command, filters=PRIVATE))
    app.add_handler(MessageHandler(menu_button("menu.review"), review_command))
    app.add_handler(CallbackQueryHandler(approve, pattern=APPROVE.matches))
    app.add_handler(CallbackQueryHandler(skip, pattern=SKIP.matches))
