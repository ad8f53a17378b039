"""Secretariat dialogs: /newevent (a guided chat: title, kind, start, end, place, audience,
reminders, then publish or keep as a draft) and /deadline (title, due date, requirement).
The role is checked on every step, button presses included."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
)

from bot import deadlines as deadline_service
from bot import events as service
from bot.dates import read_iso_day
from bot.i18n import t
from bot.reminders import DEFAULT_OFFSETS, OffsetError, parse_offsets
from handlers.common import PRIVATE, TYPED, Context, deps, dialog, lang_of, refuse, reply, staff_only
from handlers.events import policy
from models import Member

END = ConversationHandler.END
TITLE, KIND, START, FINISH, PLACE, AUDIENCE, AUDIENCE_VALUE, REMIND, CONFIRM = range(9)
DL_TITLE, DL_DUE, DL_REQ, DL_VALUE, DL_TYPE, DL_CONFIRM = range(20, 26)
EV_KEY, DL_KEY = "event_admin", "deadline_admin"


def _keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def _data(context: Context, key: str) -> dict:
    assert context.user_data is not None
    return context.user_data.setdefault(key, {})


def _text(update: Update) -> str:
    return (update.message.text or "").strip() if update.message else ""


# ------------------------------------------------------------------ /newevent


@staff_only
async def new_event(update: Update, context: Context, member: Member) -> int:
    """/newevent: start the guided chat."""
    assert context.user_data is not None
    # "key" names this dialog's event: it is made once, however often 发布 is pressed (bot.events)
    context.user_data[EV_KEY] = {"key": uuid.uuid4().hex}
    await reply(update, t("events.admin.ask_title", lang_of(member, context), limit=service.MAX_TITLE))
    return TITLE


@staff_only
async def got_title(update: Update, context: Context, member: Member) -> int:
    lang, title = lang_of(member, context), _text(update)
    if not title or len(title) > service.MAX_TITLE:
        await reply(update, t("events.admin.bad_title", lang, limit=service.MAX_TITLE))
        return TITLE
    _data(context, EV_KEY)["title"] = title
    rules = deps(context).rules
    rows = [[(a.label(lang), f"ne:k:{a.code}")] for a in rules.activities.values()]
    await reply(update, t("events.admin.ask_kind", lang), reply_markup=_keyboard(rows))
    return KIND


@staff_only
async def got_kind(update: Update, context: Context, member: Member) -> int:
    lang = lang_of(member, context)
    code = (update.callback_query.data or "").removeprefix("ne:k:") if update.callback_query else ""
    if code not in deps(context).rules.activities:
        await refuse(update, t("common.stale_button", lang))
        return KIND
    _data(context, EV_KEY)["kind"] = code
    await reply(update, t("events.admin.ask_start", lang))
    return START


@staff_only
async def got_start(update: Update, context: Context, member: Member) -> int:
    d, lang = deps(context), lang_of(member, context)
    try:
        start = service.parse_local_datetime(_text(update), d.settings.tz)
    except service.EventError as exc:
        await reply(update, exc.text(lang))
        return START
    if start <= d.clock.now():
        await reply(update, t("events.error.in_past", lang))
        return START
    _data(context, EV_KEY)["start"] = start.isoformat()
    await reply(
        update,
        t("events.admin.ask_end", lang),
        reply_markup=_keyboard([[(t("events.admin.skip", lang), "ne:skip")]]),
    )
    return FINISH


@staff_only
async def got_end(update: Update, context: Context, member: Member) -> int:
    d, lang = deps(context), lang_of(member, context)
    data = _data(context, EV_KEY)
    if update.callback_query is None:
        text = _text(update)
        if re.fullmatch(r"\d{1,2}[:：]\d{2}", text):  # only a time: the same day as the start
            start_local = service.local_start(data["start"], d.settings.tz)
            text = f"{start_local:%Y-%m-%d} {text.replace('：', ':')}"
        try:
            end = service.parse_local_datetime(text, d.settings.tz)
        except service.EventError as exc:
            await reply(update, exc.text(lang))
            return FINISH
        if end.isoformat() <= data["start"]:
            await reply(update, t("events.error.end_before_start", lang))
            return FINISH
        data["end"] = end.isoformat()
    await reply(
        update,
        t("events.admin.ask_place", lang, limit=service.MAX_PLACE),
        reply_markup=_keyboard([[(t("events.admin.skip", lang), "ne:skip")]]),
    )
    return PLACE


@staff_only
async def got_place(update: Update, context: Context, member: Member) -> int:
    lang = lang_of(member, context)
    if update.callback_query is None:
        place = _text(update)
        if len(place) > service.MAX_PLACE:
            await reply(update, t("events.admin.bad_place", lang, limit=service.MAX_PLACE))
            return PLACE
        _data(context, EV_KEY)["place"] = place
    rows = [[(t(f"events.admin.audience_{k}", lang), f"ne:a:{k}")] for k in service.AUDIENCE_KINDS]
    await reply(update, t("events.admin.ask_audience", lang), reply_markup=_keyboard(rows))
    return AUDIENCE


@staff_only
async def got_audience(update: Update, context: Context, member: Member) -> int:
    lang = lang_of(member, context)
    kind = (update.callback_query.data or "").removeprefix("ne:a:") if update.callback_query else ""
    if kind not in service.AUDIENCE_KINDS:
        await refuse(update, t("common.stale_button", lang))
        return AUDIENCE
    data = _data(context, EV_KEY)
    if kind == "all":
        data["audience"] = "all"
        return await _ask_remind(update, lang)
    data["audience_kind"] = kind
    await reply(update, t(f"events.admin.ask_audience_{kind}", lang))
    return AUDIENCE_VALUE


async def _ask_remind(update: Update, lang: str) -> int:
    await reply(
        update,
        t("events.admin.ask_remind", lang, default=",".join(DEFAULT_OFFSETS)),
        reply_markup=_keyboard([[(t("events.admin.default_remind", lang), "ne:skip")]]),
    )
    return REMIND


@staff_only
async def got_audience_value(update: Update, context: Context, member: Member) -> int:
    d, lang = deps(context), lang_of(member, context)
    data = _data(context, EV_KEY)
    spec = f"{data.get('audience_kind', 'members')}:{_text(update)}"
    async with d.db.session() as session:
        try:
            await service.resolve_audience(session, spec)
        except service.EventError as exc:
            await reply(update, exc.text(lang))
            return AUDIENCE_VALUE
    data["audience"] = spec
    return await _ask_remind(update, lang)


@staff_only
async def got_remind(update: Update, context: Context, member: Member) -> int:
    d, lang = deps(context), lang_of(member, context)
    data = _data(context, EV_KEY)
    if update.callback_query is None:
        try:
            data["remind"] = parse_offsets(_text(update))
        except OffsetError:
            await reply(update, t("events.error.bad_offsets", lang, text=_text(update)[:40]))
            return REMIND
    remind = data.get("remind") or list(DEFAULT_OFFSETS)
    start = service.local_start(data["start"], d.settings.tz)
    summary = t(
        "events.admin.summary",
        lang,
        title=data["title"],
        kind=d.rules.activities[data["kind"]].label(lang),
        start=f"{start:%Y-%m-%d %H:%M}",
        place=data.get("place") or t("events.place_tbd", lang),
        audience=data.get("audience", "all"),
        remind=", ".join(remind),
    )
    rows = [
        [(t("events.admin.publish", lang), "ne:pub"), (t("events.admin.draft", lang), "ne:draft")],
        [(t("events.admin.cancel", lang), "ne:cancel")],
    ]
    await reply(update, summary, reply_markup=_keyboard(rows))
    return CONFIRM


@staff_only
async def confirm(update: Update, context: Context, member: Member) -> int:
    d, lang = deps(context), lang_of(member, context)
    choice = (update.callback_query.data or "") if update.callback_query else ""
    data = dict(_data(context, EV_KEY))
    assert context.user_data is not None
    if choice == "ne:cancel":
        context.user_data.pop(EV_KEY, None)
        await reply(update, t("events.admin.cancelled", lang))
        return END
    if choice not in ("ne:pub", "ne:draft") or "start" not in data:
        await refuse(update, t("common.stale_button", lang))
        return CONFIRM
    now = d.clock.now()
    try:
        async with d.db.session() as session:
            audience = await service.resolve_audience(session, data.get("audience", "all"))
            event = await service.create_event(
                session,
                title=data["title"],
                kind=data["kind"],
                starts_at=datetime.fromisoformat(data["start"]),
                ends_at=datetime.fromisoformat(data["end"]) if data.get("end") else None,
                place=data.get("place", ""),
                audience=audience,
                offsets=data.get("remind"),
                now=now,
                rules=d.rules,
                created_by=member.id,
                create_key=data.get("key"),
            )
            invited = 0
            if choice == "ne:pub":
                invited = await service.publish_once(session, event, now=now, policy=policy(context))
    except service.EventError as exc:
        await refuse(update, exc.text(lang))
        return CONFIRM
    context.user_data.pop(EV_KEY, None)
    key = "events.admin.published" if choice == "ne:pub" else "events.admin.saved"
    await reply(update, t(key, lang, id=event.id, title=event.title, count=invited, code=event.checkin_code))
    return END


async def cancel_dialog(update: Update, context: Context) -> int:
    if context.user_data is not None:
        context.user_data.pop(EV_KEY, None)
        context.user_data.pop(DL_KEY, None)
    await reply(update, t("events.admin.cancelled", lang_of(None, context, update)))
    return END


# ------------------------------------------------------------------ /deadline


@staff_only
async def new_deadline(update: Update, context: Context, member: Member) -> int:
    """/deadline: the upcoming deadlines, then the guided chat for a new one."""
    d, lang = deps(context), lang_of(member, context)
    assert context.user_data is not None
    context.user_data[DL_KEY] = {}
    async with d.db.session() as session:
        current = await deadline_service.list_deadlines(session, now=d.clock.now(), zone=d.settings.tz)
    if current:
        lines = [
            t(
                "deadlines.list_item",
                lang,
                title=x.title,
                due=x.due_on.isoformat(),
                requirement=deadline_service.describe(x.requirement, d.rules, lang),
            )
            for x in current[:20]
        ]
        await reply(update, t("deadlines.list_header", lang) + "\n" + "\n".join(lines))
    await reply(update, t("deadlines.ask_title", lang, limit=deadline_service.MAX_TITLE))
    return DL_TITLE


@staff_only
async def dl_title(update: Update, context: Context, member: Member) -> int:
    lang, title = lang_of(member, context), _text(update)
    if not title or len(title) > deadline_service.MAX_TITLE:
        await reply(update, t("deadlines.error.title_too_long", lang, limit=deadline_service.MAX_TITLE))
        return DL_TITLE
    _data(context, DL_KEY)["title"] = title
    await reply(update, t("deadlines.ask_due", lang))
    return DL_DUE


@staff_only
async def dl_due(update: Update, context: Context, member: Member) -> int:
    d, lang = deps(context), lang_of(member, context)
    due = read_iso_day(_text(update))
    if due is None:
        await reply(update, t("deadlines.error.bad_date", lang, text=_text(update)[:20]))
        return DL_DUE
    if due < d.clock.now().astimezone(d.settings.tz).date():
        await reply(update, t("deadlines.error.in_past", lang))
        return DL_DUE
    _data(context, DL_KEY)["due"] = due.isoformat()
    rows = [[(t(f"deadlines.req_button_{k}", lang), f"dl:r:{k}")] for k in deadline_service.REQUIREMENT_TYPES]
    await reply(update, t("deadlines.ask_requirement", lang), reply_markup=_keyboard(rows))
    return DL_REQ


@staff_only
async def dl_req(update: Update, context: Context, member: Member) -> int:
    d, lang = deps(context), lang_of(member, context)
    kind = (update.callback_query.data or "").removeprefix("dl:r:") if update.callback_query else ""
    if kind not in deadline_service.REQUIREMENT_TYPES:
        await refuse(update, t("common.stale_button", lang))
        return DL_REQ
    _data(context, DL_KEY)["type"] = kind
    if kind == "activity":
        rows = [[(a.label(lang), f"dl:t:{a.code}")] for a in d.rules.activities.values()]
        await reply(update, t("deadlines.ask_type", lang), reply_markup=_keyboard(rows))
        return DL_TYPE
    await reply(update, t(f"deadlines.ask_value_{kind}", lang))
    return DL_VALUE


@staff_only
async def dl_type(update: Update, context: Context, member: Member) -> int:
    d, lang = deps(context), lang_of(member, context)
    code = (update.callback_query.data or "").removeprefix("dl:t:") if update.callback_query else ""
    if code not in d.rules.activities:
        await refuse(update, t("common.stale_button", lang))
        return DL_TYPE
    _data(context, DL_KEY)["code"] = code
    await reply(update, t("deadlines.ask_value_activity", lang))
    return DL_VALUE


@staff_only
async def dl_value(update: Update, context: Context, member: Member) -> int:
    d, lang = deps(context), lang_of(member, context)
    data = _data(context, DL_KEY)
    spec = data["type"] + (f":{data['code']}" if data.get("code") else "") + f":{_text(update)}"
    try:
        requirement = deadline_service.parse_requirement(spec, d.rules)
    except deadline_service.DeadlineError as exc:
        await reply(update, exc.text(lang))
        return DL_VALUE
    data["requirement"] = requirement
    summary = t(
        "deadlines.summary",
        lang,
        title=data["title"],
        due=data["due"],
        requirement=deadline_service.describe(requirement, d.rules, lang),
    )
    rows = [[(t("deadlines.save", lang), "dl:ok"), (t("events.admin.cancel", lang), "dl:cancel")]]
    await reply(update, summary, reply_markup=_keyboard(rows))
    return DL_CONFIRM


@staff_only
async def dl_confirm(update: Update, context: Context, member: Member) -> int:
    d, lang = deps(context), lang_of(member, context)
    choice = (update.callback_query.data or "") if update.callback_query else ""
    data = dict(_data(context, DL_KEY))
    assert context.user_data is not None
    if choice == "dl:cancel":
        context.user_data.pop(DL_KEY, None)
        await reply(update, t("events.admin.cancelled", lang))
        return END
    if choice != "dl:ok" or "requirement" not in data:
        await refuse(update, t("common.stale_button", lang))
        return DL_CONFIRM
    try:
        async with d.db.session() as session:
            deadline = await deadline_service.create_deadline(
                session,
                title=data["title"],
                due_on=date.fromisoformat(data["due"]),
                requirement=data["requirement"],
                now=d.clock.now(),
                zone=d.settings.tz,
                created_by=member.id,
            )
    except deadline_service.DeadlineError as exc:
        await refuse(update, exc.text(lang))
        return END
    context.user_data.pop(DL_KEY, None)
    await reply(update, t("deadlines.saved", lang, title=deadline.title, due=deadline.due_on.isoformat()))
    return END


def register(app: Application) -> None:
    minutes = app.bot_data["deps"].settings.dialog_timeout_minutes
    skip = CallbackQueryHandler
    newevent = dialog(
        "event_admin",
        timeout_minutes=minutes,
        entry_points=[CommandHandler("newevent", new_event, filters=PRIVATE)],
        states={
            TITLE: [MessageHandler(TYPED, got_title)],
            KIND: [CallbackQueryHandler(got_kind, pattern=r"^ne:k:")],
            START: [MessageHandler(TYPED, got_start)],
            FINISH: [MessageHandler(TYPED, got_end), skip(got_end, pattern=r"^ne:skip$")],
            PLACE: [MessageHandler(TYPED, got_place), skip(got_place, pattern=r"^ne:skip$")],
            AUDIENCE: [CallbackQueryHandler(got_audience, pattern=r"^ne:a:")],
            AUDIENCE_VALUE: [MessageHandler(TYPED, got_audience_value)],
            REMIND: [MessageHandler(TYPED, got_remind), skip(got_remind, pattern=r"^ne:skip$")],
            CONFIRM: [CallbackQueryHandler(confirm, pattern=r"^ne:(pub|draft|cancel)$")],
        },
        fallbacks=[CommandHandler("cancel", cancel_dialog)],
    )
    deadline = dialog(
        "deadline_admin",
        timeout_minutes=minutes,
        entry_points=[CommandHandler("deadline", new_deadline, filters=PRIVATE)],
        states={
            DL_TITLE: [MessageHandler(TYPED, dl_title)],
            DL_DUE: [MessageHandler(TYPED, dl_due)],
            DL_REQ: [CallbackQueryHandler(dl_req, pattern=r"^dl:r:")],
            DL_TYPE: [CallbackQueryHandler(dl_type, pattern=r"^dl:t:")],
            DL_VALUE: [MessageHandler(TYPED, dl_value)],
            DL_CONFIRM: [CallbackQueryHandler(dl_confirm, pattern=r"^dl:(ok|cancel)$")],
        },
        fallbacks=[CommandHandler("cancel", cancel_dialog)],
    )
    app.add_handler(newevent)
    app.add_handler(deadline)
