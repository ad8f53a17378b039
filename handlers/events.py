"""Members and their events: /events (and the 📅 menu button) lists upcoming events with their
answers; invitation buttons 参加 / 请假 (请假 asks for a reason); the 签到 button and
/checkin CODE. Every button press is checked against the database."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.core.clock import to_db
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.services import events as service
from bot.services.reminders import ReminderPolicy
from bot.telegram.sweeps import sweep_at_start_and_hourly
from bot.telegram.ui import (
    App,
    Context,
    Prompt,
    Row,
    deps_of,
    keyboard,
    refuse,
    reply,
    show,
)
from handlers.common import PRIVATE, TYPED, lang_of, member_only, menu_button, typed_text
from handlers.dialog import END, Next, drop_draft, leaving, timed_dialog
from models import Event, Member
from models.event import ATTEND, LEAVE

REASON, CODE = "reason", "code"
DATA_KEY, CHECKIN_KEY = "events", "checkin"
MAX_LISTED = 10

# The invitation's buttons: bot.services.events puts them on the invitations it sends.
BUTTONS, ATTEND_BUTTON, LEAVE_BUTTON = service.BUTTONS, service.ATTEND_BUTTON, service.LEAVE_BUTTON
CHECKIN_BUTTON = service.CHECKIN_BUTTON


def policy(context: Context) -> ReminderPolicy:
    return context.deps.reminder_policy


def _answer_text(outcome: service.Answer, event: Event | None, lang: str) -> str:
    title = event.title if event is not None else ""
    return t(f"events.answer_{outcome.value}", lang, title=title, limit=service.MAX_REASON)


@member_only
async def list_events(update: Update, context: Context, member: Member) -> None:
    """/events: the member's upcoming events, each with its buttons."""
    d, lang = context.deps, lang_of(member, context)
    now = d.clock.now()
    stored_now = to_db(now)  # as the event's times are stored: naive UTC
    async with d.db.session() as session:
        upcoming = await service.upcoming_for_member(session, member, now=now)
    if not upcoming:
        await reply(update, t("events.list_empty", lang))
        return
    await reply(update, t("events.list_header", lang, count=len(upcoming)))
    pol = policy(context)
    for event, invitation in upcoming[:MAX_LISTED]:
        status = t(f"events.answer_label_{invitation.answer}", lang)
        if invitation.checked_in_at:
            status = t("events.answer_label_checked_in", lang)
        text = t(
            "events.list_item",
            lang,
            title=event.title,
            when=service.format_when(event.starts_at, pol.zone, lang),
            place=event.place or t("events.place_tbd", lang),
            answer=status,
        )
        assert event.id is not None
        rows: list[Row] = []
        if event.starts_at > stored_now:
            rows.append([(t("events.btn_attend", lang), ATTEND_BUTTON(event.id)),
                         (t("events.btn_leave", lang), LEAVE_BUTTON(event.id))])  # fmt: skip
        if event.checkin_opens_at <= stored_now < event.checkin_closes_at and not invitation.checked_in_at:
            rows.append([(t("events.btn_checkin", lang), CHECKIN_BUTTON(event.id))])
        await reply(update, text, keyboard(rows) if rows else None)


async def _answer(
    context: Context, member: Member, event_id: int, answer: str, reason: str | None = None
) -> tuple[service.Answer, Event | None]:
    """The member's answer to an invitation (参加, or 请假 with its reason), as the service judges it."""
    d = context.deps
    async with d.db.session() as session:
        return await service.answer_invitation(
            session, event_id=event_id, member=member, answer=answer, reason=reason, now=d.clock.now(),
            policy=policy(context),
        )  # fmt: skip


@member_only
async def attend(update: Update, context: Context, member: Member) -> None:
    """参加 button."""
    lang = lang_of(member, context)
    outcome, event = await _answer(context, member, ATTEND_BUTTON.read(update).number, ATTEND)
    if outcome is not service.Answer.RECORDED:
        await refuse(update, _answer_text(outcome, event, lang))
        return
    assert event is not None
    await reply(update, t("events.attend_recorded", lang, title=event.title))


@member_only
async def leave_start(update: Update, context: Context, member: Member) -> Next:
    """请假 button: check the invitation, then ask for the reason."""
    d, lang = context.deps, lang_of(member, context)
    event_id = LEAVE_BUTTON.read(update).number
    async with d.db.session() as session:
        outcome, event = await service.check_answerable(
            session, event_id=event_id, member=member, now=d.clock.now()
        )
    if outcome is not service.Answer.RECORDED or event is None:
        await refuse(update, _answer_text(outcome, event, lang))
        return END
    assert context.user_data is not None
    context.user_data[DATA_KEY] = {"leave_event": event_id, "title": event.title}
    await show(update, await _reason_prompt(update, context, lang))
    return REASON


async def _reason_prompt(update: Update, context: Context, lang: str) -> Prompt:
    title = ((context.user_data or {}).get(DATA_KEY) or {}).get("title", "")
    return t("events.ask_reason", lang, title=title, limit=service.MAX_REASON), None


@member_only
async def leave_reason(update: Update, context: Context, member: Member) -> int:
    """The reason for 请假: record the leave (a missing or too long reason asks again)."""
    lang = lang_of(member, context)
    assert update.message is not None and context.user_data is not None
    event_id = (context.user_data.get(DATA_KEY) or {}).get("leave_event")
    if not isinstance(event_id, int):
        await reply(update, t("common.stale_button", lang))
        return END
    reason = (update.message.text or "").strip()
    outcome, event = await _answer(context, member, event_id, LEAVE, reason)
    if outcome in (service.Answer.NEED_REASON, service.Answer.REASON_TOO_LONG):
        raise AskAgain(
            f"events.answer_{outcome.value}", hand_back=True, limit=service.MAX_REASON, length=len(reason)
        )
    context.user_data.pop(DATA_KEY, None)
    if outcome is not service.Answer.RECORDED:
        await reply(update, _answer_text(outcome, event, lang))
        return END
    assert event is not None
    await reply(update, t("events.leave_recorded", lang, title=event.title, reason=reason))
    return END


leave_cancel = leaving(
    DATA_KEY, "events.leave_cancelled"
)  # /cancel while asked for a reason: nothing changes


def _checkin_text(outcome: service.CheckIn, event: Event | None, lang: str, context: Context) -> str:
    zone = policy(context).zone
    if event is None:
        return t(f"events.checkin_{outcome.value}", lang, title="", opens="", closes="")
    return t(
        f"events.checkin_{outcome.value}",
        lang,
        title=event.title,
        opens=service.format_when(event.checkin_opens_at, zone, lang),
        closes=service.format_when(event.checkin_closes_at, zone, lang),
    )


# ------------------------------------------------------------------ 签到: the code, or self-declared


async def _check_in(
    update: Update, context: Context, member: Member, *, event_id: int | None = None, code: str | None = None
) -> service.CheckIn:
    d = context.deps
    async with d.db.session() as session:
        outcome, event = await service.check_in(
            session, member=member, now=d.clock.now(), rules=d.rules, zone=d.settings.tz,
            default_lang=d.settings.locale, event_id=event_id, code=code,
        )  # fmt: skip
    if outcome is service.CheckIn.BAD_CODE:
        raise AskAgain("events.checkin_bad_code")
    text = _checkin_text(outcome, event, lang_of(member, context), context)
    if outcome is service.CheckIn.DONE:
        await reply(update, text)
    else:
        await refuse(update, text)
    return outcome


async def _code_prompt(update: Update, context: Context, lang: str) -> Prompt:
    title = ((context.user_data or {}).get(CHECKIN_KEY) or {}).get("title")
    key = "events.ask_code_for" if title else "events.ask_code"
    return t(key, lang, title=title or ""), None


@member_only
async def checkin_button(update: Update, context: Context, member: Member) -> Next:
    """📍 签到: a self-declared event checks in at once; any other asks for the venue's code."""
    d, lang = context.deps, lang_of(member, context)
    event_id = CHECKIN_BUTTON.read(update).number
    outcome = await _check_in(update, context, member, event_id=event_id)
    if outcome is not service.CheckIn.NEED_CODE:
        return END
    async with d.db.session() as session:
        event = await service.get_event(session, event_id)
    assert context.user_data is not None
    context.user_data[CHECKIN_KEY] = {"title": event.title}
    await show(update, await _code_prompt(update, context, lang))
    return CODE


@member_only
async def checkin_command(update: Update, context: Context, member: Member) -> Next:
    """/checkin CODE: the code shown at the venue; /checkin alone asks for it."""
    lang = lang_of(member, context)
    code = (context.args[0] if context.args else "").strip()
    assert context.user_data is not None
    context.user_data[CHECKIN_KEY] = {}
    if code:
        try:
            return await _code_given(update, context, member, code)
        except AskAgain as refusal:  # a wrong code: the dialog starts, asking for it
            text, markup = await _code_prompt(update, context, lang)
            await reply(update, f"{refusal.text(lang)}\n\n{text}", markup)
            return CODE
    await show(update, await _code_prompt(update, context, lang))
    return CODE


@member_only
async def checkin_code(update: Update, context: Context, member: Member) -> int:
    """The code typed after /checkin or the 📍 button."""
    return await _code_given(update, context, member, typed_text(update))


async def _code_given(update: Update, context: Context, member: Member, code: str) -> int:
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) > 12:
        raise AskAgain("events.checkin_bad_code")
    await _check_in(update, context, member, code=code)
    drop_draft(context, CHECKIN_KEY)
    return END


checkin_cancel = leaving(CHECKIN_KEY, "events.checkin_cancelled")


def register(app: App) -> None:
    leave = timed_dialog(
        app,
        "events",
        prompts={REASON: _reason_prompt},
        data_key=DATA_KEY,
        entry_points=[CallbackQueryHandler(leave_start, pattern=LEAVE_BUTTON.matches)],
        states={REASON: [MessageHandler(TYPED, leave_reason)]},
        fallbacks=[CommandHandler("cancel", leave_cancel)],
    )
    checkin = timed_dialog(
        app,
        "checkin",
        prompts={CODE: _code_prompt},
        data_key=CHECKIN_KEY,
        entry_points=[
            CommandHandler("checkin", checkin_command, filters=PRIVATE),
            CallbackQueryHandler(checkin_button, pattern=CHECKIN_BUTTON.matches),
        ],
        states={CODE: [MessageHandler(TYPED, checkin_code)]},
        fallbacks=[CommandHandler("cancel", checkin_cancel)],
    )
    app.add_handler(leave)
    app.add_handler(checkin)
    app.add_handler(CommandHandler("events", list_events, filters=PRIVATE))
    app.add_handler(MessageHandler(menu_button("menu.events"), list_events))
    app.add_handler(CallbackQueryHandler(attend, pattern=ATTEND_BUTTON.matches))


async def sweep(context: Context) -> None:
    """The fixed job: deadline reminders whose moment has come, and attendance of ended events."""
    d = context.deps
    now = d.clock.now()
    async with d.db.session() as session:
        from bot.services import deadlines

        await deadlines.plan_deadline_reminders(session, now=now, rules=d.rules, policy=policy(context))
    async with d.db.session() as session:
        await service.close_due_events(session, now=now, rules=d.rules, zone=d.settings.tz)


async def start_jobs(app: App) -> None:
    """Start-up hook: the sweep runs once now and then every hour at the minute of
    DEADLINE_REMIND_TIME (so a 09:00 reminder is planned at 09:00, with compliance judged then).
    The sweep is idempotent, so missed runs coalesce into one and a late run (up to 30 min,
    e.g. after the machine slept) still does its work rather than being skipped."""
    sweep_at_start_and_hourly(
        app, sweep, "deadline-sweep", minute=deps_of(app).reminder_policy.deadline_time.minute
    )
