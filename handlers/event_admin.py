"""Secretariat dialogs: /newevent (a guided chat: title, kind, start, end, place, audience,
reminders, then publish or keep as a draft) and /deadline (title, due date, requirement).
The role is checked on every step, button presses included; a refused answer asks the same step
again (handlers.common.Dialog)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.core.dates import format_day, format_span, parse_day, short_day, today_in
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.services import deadlines as deadline_service
from bot.services import events as service
from bot.services.reminders import DEFAULT_OFFSETS, OffsetError, parse_offsets
from handlers.common import (
    PRIVATE,
    TYPED,
    Context,
    Prompt,
    PromptFor,
    close_pressed,
    deps,
    dialog,
    grid,
    keyboard,
    lang_of,
    menu_pattern,
    reply,
    staff_only,
    step_label,
)
from handlers.events import policy
from models import Member

END = ConversationHandler.END
TITLE, KIND, START, FINISH, PLACE, AUDIENCE, AUDIENCE_VALUE, REMIND, CONFIRM = range(9)
DL_TITLE, DL_DUE, DL_REQ, DL_VALUE, DL_TYPE, DL_CONFIRM = range(20, 26)
EV_KEY, DL_KEY = "event_admin", "deadline_admin"
EVENT_STEPS = {TITLE: 1, KIND: 2, START: 3, FINISH: 4, PLACE: 5, AUDIENCE: 6, AUDIENCE_VALUE: 6, REMIND: 7}
DEADLINE_STEPS = {DL_TITLE: 1, DL_DUE: 2, DL_REQ: 3, DL_TYPE: 3, DL_VALUE: 3}
MAX_CHOICES = 24  # committee or sector buttons shown at once


def _data(context: Context, key: str) -> dict:
    assert context.user_data is not None
    return context.user_data.setdefault(key, {})


def _text(update: Update) -> str:
    return (update.message.text or "").strip() if update.message else ""


def _choice(update: Update, prefix: str) -> str:
    return (update.callback_query.data or "").removeprefix(prefix) if update.callback_query else ""


def _today(context: Context) -> date:
    d = deps(context)
    return today_in(d.clock.now(), d.settings.tz)


def _example_start(context: Context, lang: str) -> str:
    """An example start time a week from now, so the example always lies ahead."""
    day = _today(context) + timedelta(days=7)
    return t("events.admin.example_start", lang, day=short_day(day, lang))


async def _ask(update: Update, context: Context, prompts: dict, state: int, lang: str) -> int:
    text, markup = await prompts[state](update, context, lang)
    await reply(update, text, reply_markup=markup)
    return state


# ------------------------------------------------------------------ /newevent: what each step asks


def _numbered(state: int, key: str, lang: str, **params: object) -> str:
    """A step's question after its label (第 2 步，共 7 步：), for either dialog."""
    steps = EVENT_STEPS if state in EVENT_STEPS else DEADLINE_STEPS
    return step_label(steps[state], max(steps.values()), lang) + t(key, lang, **params)


async def _title_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return _numbered(TITLE, "events.admin.ask_title", lang, limit=service.MAX_TITLE), None


async def _kind_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kinds = [(a.button(lang), f"ne:k:{a.code}") for a in deps(context).rules.activities.values()]
    return _numbered(KIND, "events.admin.ask_kind", lang), grid(kinds, 2)


async def _start_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return _numbered(START, "events.admin.ask_start", lang, example=_example_start(context, lang)), None


async def _end_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return _numbered(FINISH, "events.admin.ask_end", lang), keyboard([[(t("events.admin.skip", lang), "ne:skip")]])


async def _place_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return _numbered(PLACE, "events.admin.ask_place", lang, limit=service.MAX_PLACE), keyboard(
        [[(t("events.admin.skip", lang), "ne:skip")]]
    )


async def _audience_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kinds = [(t(f"events.admin.audience_{k}", lang), f"ne:a:{k}") for k in service.AUDIENCE_KINDS]
    return _numbered(AUDIENCE, "events.admin.ask_audience", lang), grid(kinds, 2)


async def _audience_value_prompt(update: Update, context: Context, lang: str) -> Prompt:
    data = _data(context, EV_KEY)
    kind = data.get("audience_kind", "members")
    if kind == "members":
        return _numbered(AUDIENCE_VALUE, "events.admin.ask_audience_members", lang), None
    choices = data.get("choices")
    if choices is None:  # every committee (or sector), with its size
        async with deps(context).db.session() as session:
            found = await service.audience_choices(session, kind)
        choices = data["choices"] = [name for name, _count in found][:MAX_CHOICES]
        labels = {name: t("events.admin.choice", lang, name=name, count=count) for name, count in found}
    else:
        labels = {name: name for name in choices}
    buttons = [(labels[name], f"ne:av:{i}") for i, name in enumerate(choices)]
    return _numbered(AUDIENCE_VALUE, f"events.admin.ask_audience_{kind}", lang), grid(buttons, 1)


async def _remind_prompt(update: Update, context: Context, lang: str) -> Prompt:
    text = _numbered(REMIND, "events.admin.ask_remind", lang, default=service.describe_offsets(DEFAULT_OFFSETS, lang))
    return text, keyboard([[(t("events.admin.default_remind", lang), "ne:skip")]])


async def _confirm_prompt(update: Update, context: Context, lang: str) -> Prompt:
    d = deps(context)
    data = _data(context, EV_KEY)
    start = datetime.fromisoformat(data["start"])
    end = datetime.fromisoformat(data["end"]) if data.get("end") else start + service.DEFAULT_LENGTH
    async with d.db.session() as session:
        audience = await service.resolve_audience(session, data.get("audience", "all"))
        who = await service.describe_audience(session, audience, lang)
    summary = t(
        "events.admin.summary",
        lang,
        title=data["title"],
        kind=d.rules.activities[data["kind"]].label(lang),
        when=format_span(start, end, d.settings.tz, lang, _today(context)),
        place=data.get("place") or t("events.place_tbd", lang),
        audience=who,
        remind=service.describe_offsets(data.get("remind") or DEFAULT_OFFSETS, lang),
        checkin=t("events.admin.checkin_self" if data.get("self_declared") else "events.admin.checkin_code", lang),
    )
    toggle = "events.admin.btn_to_code" if data.get("self_declared") else "events.admin.btn_to_self"
    return summary, keyboard(
        [
            [(t("events.admin.publish", lang), "ne:pub"), (t("events.admin.draft", lang), "ne:draft")],
            [(t(toggle, lang), "ne:self"), (t("events.admin.cancel", lang), "ne:cancel")],
        ]
    )


EVENT_PROMPTS: dict[object, PromptFor] = {
    TITLE: _title_prompt,
    KIND: _kind_prompt,
    START: _start_prompt,
    FINISH: _end_prompt,
    PLACE: _place_prompt,
    AUDIENCE: _audience_prompt,
    AUDIENCE_VALUE: _audience_value_prompt,
    REMIND: _remind_prompt,
    CONFIRM: _confirm_prompt,
}


async def _next(update: Update, context: Context, state: int, lang: str) -> int:
    return await _ask(update, context, EVENT_PROMPTS, state, lang)


# ------------------------------------------------------------------ /newevent: the steps


@staff_only
async def new_event(update: Update, context: Context, member: Member) -> int:
    """/newevent: start the guided chat."""
    assert context.user_data is not None
    # "key" names this dialog's event: it is made once, however often 发布 is pressed (bot.services.events)
    context.user_data[EV_KEY] = {"key": uuid.uuid4().hex}
    return await _next(update, context, TITLE, lang_of(member, context))


@staff_only
async def got_title(update: Update, context: Context, member: Member) -> int:
    title = _text(update)
    if not title or len(title) > service.MAX_TITLE:
        raise AskAgain("events.admin.bad_title", limit=service.MAX_TITLE)
    _data(context, EV_KEY)["title"] = title
    return await _next(update, context, KIND, lang_of(member, context))


@staff_only
async def got_kind(update: Update, context: Context, member: Member) -> int:
    code = _choice(update, "ne:k:")
    if code not in deps(context).rules.activities:
        raise AskAgain("common.stale_button")
    _data(context, EV_KEY)["kind"] = code
    return await _next(update, context, START, lang_of(member, context))


@staff_only
async def got_start(update: Update, context: Context, member: Member) -> int:
    d = deps(context)
    now = d.clock.now()
    start = service.parse_local_datetime(_text(update), d.settings.tz, now=now)
    if start <= now:
        raise service.EventError("in_past")
    data = _data(context, EV_KEY)
    data["start"] = start.isoformat()
    data.pop("end", None)  # an end kept from an earlier start may now lie before it
    return await _next(update, context, FINISH, lang_of(member, context))


@staff_only
async def got_end(update: Update, context: Context, member: Member) -> int:
    d = deps(context)
    data = _data(context, EV_KEY)
    if update.callback_query is None:
        start = datetime.fromisoformat(data["start"])
        # a time alone is on the day of the start
        end = service.parse_local_datetime(
            _text(update), d.settings.tz, now=d.clock.now(), day=start.astimezone(d.settings.tz).date()
        )
        if end <= start:
            raise AskAgain("events.error.end_before_start")
        data["end"] = end.isoformat()
    else:
        data.pop("end", None)
    return await _next(update, context, PLACE, lang_of(member, context))


@staff_only
async def got_place(update: Update, context: Context, member: Member) -> int:
    if update.callback_query is None:
        place = _text(update)
        if len(place) > service.MAX_PLACE:
            raise AskAgain("events.admin.bad_place", limit=service.MAX_PLACE)
        _data(context, EV_KEY)["place"] = place
    return await _next(update, context, AUDIENCE, lang_of(member, context))


@staff_only
async def got_audience(update: Update, context: Context, member: Member) -> int:
    lang = lang_of(member, context)
    kind = _choice(update, "ne:a:")
    if kind not in service.AUDIENCE_KINDS:
        raise AskAgain("common.stale_button")
    data = _data(context, EV_KEY)
    data.pop("choices", None)
    if kind == "all":
        data["audience"] = "all"
        return await _next(update, context, REMIND, lang)
    data["audience_kind"] = kind
    return await _next(update, context, AUDIENCE_VALUE, lang)


@staff_only
async def got_audience_value(update: Update, context: Context, member: Member) -> int:
    """A committee or sector button, part of its name typed, or the names of members."""
    d, lang = deps(context), lang_of(member, context)
    data = _data(context, EV_KEY)
    kind = data.get("audience_kind", "members")
    shown = list(data.get("choices") or [])
    if update.callback_query is not None:
        raw = _choice(update, "ne:av:")
        if not raw.isdigit() or int(raw) >= len(shown):
            raise AskAgain("common.stale_button")
        value = shown[int(raw)]
    elif kind == "members":
        value = _text(update)
    else:
        async with d.db.session() as session:
            names = [name for name, _count in await service.audience_choices(session, kind)]
        found = service.matching_choices(names, _text(update))
        if not found:
            raise service.EventError("empty_audience", text=_text(update)[:60])
        if len(found) > 1:  # several match: offer just those
            data["choices"] = found[:MAX_CHOICES]
            raise AskAgain("events.admin.several_match", count=len(found), text=_text(update)[:20])
        value = found[0]
    spec = f"{kind}:{value}"
    async with d.db.session() as session:
        await service.resolve_audience(session, spec)
    data["audience"] = spec
    data.pop("choices", None)
    return await _next(update, context, REMIND, lang)


@staff_only
async def got_remind(update: Update, context: Context, member: Member) -> int:
    data = _data(context, EV_KEY)
    if update.callback_query is None:
        try:
            data["remind"] = parse_offsets(_text(update))
        except OffsetError:
            raise AskAgain("events.error.bad_offsets", text=_text(update)[:40]) from None
    else:
        data.pop("remind", None)
    return await _next(update, context, CONFIRM, lang_of(member, context))


@staff_only
async def confirm(update: Update, context: Context, member: Member) -> int:
    d, lang = deps(context), lang_of(member, context)
    choice = (update.callback_query.data or "") if update.callback_query else ""
    data = dict(_data(context, EV_KEY))
    assert context.user_data is not None
    if choice == "ne:cancel":
        context.user_data.pop(EV_KEY, None)
        await close_pressed(update)
        await reply(update, t("events.admin.cancelled", lang))
        return END
    if choice == "ne:self":  # how members check in: the venue's code, or declared by themselves
        _data(context, EV_KEY)["self_declared"] = not data.get("self_declared")
        await close_pressed(update)  # the card with the other setting is replaced by this one
        return await _next(update, context, CONFIRM, lang)
    if choice not in ("ne:pub", "ne:draft") or "start" not in data:
        raise AskAgain("common.stale_button")
    now = d.clock.now()
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
            self_declared=bool(data.get("self_declared")),
            create_key=data.get("key"),
        )
        invited = 0
        if choice == "ne:pub":
            invited = await service.publish_once(session, event, now=now, policy=policy(context))
    context.user_data.pop(EV_KEY, None)
    await close_pressed(update)
    key = "events.admin.published" if choice == "ne:pub" else "events.admin.saved"
    await reply(update, t(key, lang, id=event.id, title=event.title, count=invited, code=event.checkin_code))
    return END


async def cancel_dialog(update: Update, context: Context) -> int:
    if context.user_data is not None:
        context.user_data.pop(EV_KEY, None)
        context.user_data.pop(DL_KEY, None)
    await reply(update, t("events.admin.cancelled", lang_of(None, context, update)))
    return END


# ------------------------------------------------------------------ /deadline: what each step asks


async def _dl_title_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return _numbered(DL_TITLE, "deadlines.ask_title", lang, limit=deadline_service.MAX_TITLE), None


async def _dl_due_prompt(update: Update, context: Context, lang: str) -> Prompt:
    day = _today(context) + timedelta(days=14)
    return _numbered(DL_DUE, "deadlines.ask_due", lang, example=short_day(day, lang)), None


async def _dl_req_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kinds = [(t(f"deadlines.req_button_{k}", lang), f"dl:r:{k}") for k in deadline_service.REQUIREMENT_TYPES]
    return _numbered(DL_REQ, "deadlines.ask_requirement", lang), grid(kinds, 3)


async def _dl_type_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kinds = [(a.button(lang), f"dl:t:{a.code}") for a in deps(context).rules.activities.values()]
    return _numbered(DL_TYPE, "deadlines.ask_type", lang), grid(kinds, 2)


async def _dl_value_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kind = _data(context, DL_KEY).get("type", "info")
    return _numbered(DL_VALUE, f"deadlines.ask_value_{kind}", lang), None


async def _dl_confirm_prompt(update: Update, context: Context, lang: str) -> Prompt:
    d = deps(context)
    data = _data(context, DL_KEY)
    summary = t(
        "deadlines.summary",
        lang,
        title=data["title"],
        due=format_day(date.fromisoformat(data["due"]), lang, _today(context)),
        requirement=deadline_service.describe(data["requirement"], d.rules, lang),
    )
    return summary, keyboard(
        [[(t("deadlines.save", lang), "dl:ok"), (t("events.admin.cancel", lang), "dl:cancel")]]
    )


DEADLINE_PROMPTS: dict[object, PromptFor] = {
    DL_TITLE: _dl_title_prompt,
    DL_DUE: _dl_due_prompt,
    DL_REQ: _dl_req_prompt,
    DL_TYPE: _dl_type_prompt,
    DL_VALUE: _dl_value_prompt,
    DL_CONFIRM: _dl_confirm_prompt,
}


async def _dl_next(update: Update, context: Context, state: int, lang: str) -> int:
    return await _ask(update, context, DEADLINE_PROMPTS, state, lang)


# ------------------------------------------------------------------ /deadline: the steps


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
                due=format_day(x.due_on, lang, _today(context)),
                requirement=deadline_service.describe(x.requirement, d.rules, lang),
            )
            for x in current[:20]
        ]
        await reply(update, t("deadlines.list_header", lang) + "\n" + "\n".join(lines))
    return await _dl_next(update, context, DL_TITLE, lang)


@staff_only
async def dl_title(update: Update, context: Context, member: Member) -> int:
    title = _text(update)
    if not title or len(title) > deadline_service.MAX_TITLE:
        raise AskAgain("deadlines.error.title_too_long", limit=deadline_service.MAX_TITLE)
    _data(context, DL_KEY)["title"] = title
    return await _dl_next(update, context, DL_DUE, lang_of(member, context))


@staff_only
async def dl_due(update: Update, context: Context, member: Member) -> int:
    d = deps(context)
    today = today_in(d.clock.now(), d.settings.tz)
    answer = parse_day(_text(update), today=today, ahead=True)
    if answer.day is None:
        raise AskAgain("deadlines.error.bad_date", text=_text(update)[:20])
    if answer.day < today:
        raise AskAgain("deadlines.error.in_past")
    _data(context, DL_KEY)["due"] = answer.day.isoformat()
    return await _dl_next(update, context, DL_REQ, lang_of(member, context))


@staff_only
async def dl_req(update: Update, context: Context, member: Member) -> int:
    kind = _choice(update, "dl:r:")
    if kind not in deadline_service.REQUIREMENT_TYPES:
        raise AskAgain("common.stale_button")
    data = _data(context, DL_KEY)
    data["type"] = kind
    data.pop("code", None)
    return await _dl_next(update, context, DL_TYPE if kind == "activity" else DL_VALUE, lang_of(member, context))


@staff_only
async def dl_type(update: Update, context: Context, member: Member) -> int:
    code = _choice(update, "dl:t:")
    if code not in deps(context).rules.activities:
        raise AskAgain("common.stale_button")
    _data(context, DL_KEY)["code"] = code
    return await _dl_next(update, context, DL_VALUE, lang_of(member, context))


@staff_only
async def dl_value(update: Update, context: Context, member: Member) -> int:
    d = deps(context)
    data = _data(context, DL_KEY)
    spec = data["type"] + (f":{data['code']}" if data.get("code") else "") + f":{_text(update)}"
    data["requirement"] = deadline_service.parse_requirement(spec, d.rules)
    return await _dl_next(update, context, DL_CONFIRM, lang_of(member, context))


@staff_only
async def dl_confirm(update: Update, context: Context, member: Member) -> int:
    d, lang = deps(context), lang_of(member, context)
    choice = (update.callback_query.data or "") if update.callback_query else ""
    data = dict(_data(context, DL_KEY))
    assert context.user_data is not None
    if choice == "dl:cancel":
        context.user_data.pop(DL_KEY, None)
        await close_pressed(update)
        await reply(update, t("events.admin.cancelled", lang))
        return END
    if choice != "dl:ok" or "requirement" not in data:
        raise AskAgain("common.stale_button")
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
    context.user_data.pop(DL_KEY, None)
    await close_pressed(update)
    due = format_day(deadline.due_on, lang, _today(context))
    await reply(update, t("deadlines.saved", lang, title=deadline.title, due=due))
    return END


def register(app: Application) -> None:
    minutes = app.bot_data["deps"].settings.dialog_timeout_minutes
    newevent = dialog(
        "event_admin",
        timeout_minutes=minutes,
        prompts=EVENT_PROMPTS,
        buttons="ne:",
        data_key=EV_KEY,
        fields={"start": START, "end": FINISH, "audience": AUDIENCE_VALUE},
        entry_points=[
            CommandHandler("newevent", new_event, filters=PRIVATE),
            MessageHandler(PRIVATE & filters.Regex(menu_pattern("menu.newevent")), new_event),
        ],
        states={
            TITLE: [MessageHandler(TYPED, got_title)],
            KIND: [CallbackQueryHandler(got_kind, pattern=r"^ne:k:")],
            START: [MessageHandler(TYPED, got_start)],
            FINISH: [MessageHandler(TYPED, got_end), CallbackQueryHandler(got_end, pattern=r"^ne:skip$")],
            PLACE: [MessageHandler(TYPED, got_place), CallbackQueryHandler(got_place, pattern=r"^ne:skip$")],
            AUDIENCE: [CallbackQueryHandler(got_audience, pattern=r"^ne:a:")],
            AUDIENCE_VALUE: [
                MessageHandler(TYPED, got_audience_value),
                CallbackQueryHandler(got_audience_value, pattern=r"^ne:av:"),
            ],
            REMIND: [MessageHandler(TYPED, got_remind), CallbackQueryHandler(got_remind, pattern=r"^ne:skip$")],
            CONFIRM: [CallbackQueryHandler(confirm, pattern=r"^ne:(pub|draft|cancel|self)$")],
        },
        fallbacks=[CommandHandler("cancel", cancel_dialog)],
    )
    deadline = dialog(
        "deadline_admin",
        timeout_minutes=minutes,
        prompts=DEADLINE_PROMPTS,
        buttons="dl:",
        data_key=DL_KEY,
        fields={"due": DL_DUE},
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
