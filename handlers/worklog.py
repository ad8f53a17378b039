"""/log: the secretariat records an entry of the committee's own work log (向区委请示报告,
接待来访调研考察, 出版/编纂, 宣传简讯 and whether it was reprinted) in a short guided chat:
kind, day, count, note, the kind's mark, then save. The role is checked on every step; a refused
answer asks the same step again (handlers.common.Dialog); saving twice stores one entry."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
)

from bot.core.dates import format_day, today_in
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.services import worklog as service
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
    reply,
    staff_only,
    step_label,
)
from models import Member

END = ConversationHandler.END
KIND, DAY, COUNT, NOTE, MARK, CONFIRM = range(40, 46)
STEPS = {KIND: 1, DAY: 2, COUNT: 3, NOTE: 4, MARK: 5}
KEY = "worklog"


def _data(context: Context) -> dict:
    assert context.user_data is not None
    return context.user_data.setdefault(KEY, {})


def _text(update: Update) -> str:
    return (update.message.text or "").strip() if update.message else ""


def _pressed(update: Update, prefix: str) -> str | None:
    data = update.callback_query.data if update.callback_query else None
    return data.removeprefix(prefix) if data and data.startswith(prefix) else None


def _kind(context: Context):  # type: ignore[no-untyped-def]
    return deps(context).rules.review.log_kinds.get(_data(context).get("kind", ""))


def _numbered(context: Context, state: int, key: str, lang: str, **params: object) -> str:
    total = 5 if (kind := _kind(context)) is not None and kind.mark_zh else 4
    return step_label(STEPS[state], total, lang) + t(key, lang, **params)


async def _kind_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kinds = [(k.button(lang), f"lg:k:{k.code}") for k in deps(context).rules.review.log_kinds.values()]
    return _numbered(context, KIND, "worklog.ask_kind", lang), grid(kinds, 2)


async def _day_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return _numbered(context, DAY, "worklog.ask_day", lang), keyboard(
        [[(t("worklog.btn_today", lang), "lg:d:0"), (t("worklog.btn_yesterday", lang), "lg:d:1")]]
    )


async def _count_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kind = _kind(context)
    unit = kind.unit(lang) if kind else ""
    return _numbered(context, COUNT, "worklog.ask_count", lang, unit=unit), keyboard([[(f"1 {unit}".strip(), "lg:n:1")]])


async def _note_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return _numbered(context, NOTE, "worklog.ask_note", lang, limit=service.MAX_NOTE), keyboard(
        [[(t("worklog.btn_skip", lang), "lg:skip")]]
    )


async def _mark_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kind = _kind(context)
    mark = kind.mark(lang) if kind else ""
    return _numbered(context, MARK, "worklog.ask_mark", lang, mark=mark), keyboard(
        [[(t("worklog.btn_yes", lang), "lg:m:1"), (t("worklog.btn_no", lang), "lg:m:0")]]
    )


async def _confirm_prompt(update: Update, context: Context, lang: str) -> Prompt:
    data, kind = _data(context), _kind(context)
    today = today_in(deps(context).clock.now(), deps(context).settings.tz)
    mark = (kind.mark(lang) if data.get("marked") else t("worklog.not_marked", lang, mark=kind.mark(lang))) if (
        kind and kind.mark_zh) else ""  # fmt: skip
    summary = t(
        "worklog.summary", lang, kind=kind.label(lang) if kind else "", day=format_day(date.fromisoformat(data["day"]), lang, today),
        count=data.get("count", 1), unit=kind.unit(lang) if kind else "", note=data.get("note") or t("worklog.no_note", lang),
    )  # fmt: skip
    if mark:
        summary += "\n" + t("worklog.summary_mark", lang, mark=mark)
    return summary, keyboard([[(t("worklog.btn_save", lang), "lg:ok"), (t("worklog.btn_cancel", lang), "lg:x")]])


PROMPTS: dict[object, PromptFor] = {
    KIND: _kind_prompt,
    DAY: _day_prompt,
    COUNT: _count_prompt,
    NOTE: _note_prompt,
    MARK: _mark_prompt,
    CONFIRM: _confirm_prompt,
}


async def _next(update: Update, context: Context, state: int, lang: str) -> int:
    text, markup = await PROMPTS[state](update, context, lang)
    await reply(update, text, reply_markup=markup)
    return state


@staff_only
async def start(update: Update, context: Context, member: Member) -> int:
    """/log: start the guided chat."""
    assert context.user_data is not None
    context.user_data[KEY] = {"key": uuid.uuid4().hex}  # the entry is stored once, however often 保存 is pressed
    return await _next(update, context, KIND, lang_of(member, context))


@staff_only
async def got_kind(update: Update, context: Context, member: Member) -> int:
    code = _pressed(update, "lg:k:")
    if code not in deps(context).rules.review.log_kinds:
        raise AskAgain("common.stale_button")
    _data(context)["kind"] = code
    return await _next(update, context, DAY, lang_of(member, context))


@staff_only
async def got_day(update: Update, context: Context, member: Member) -> int:
    d = deps(context)
    back = _pressed(update, "lg:d:")
    if back is not None:
        if back not in ("0", "1"):
            raise AskAgain("common.stale_button")
        day = today_in(d.clock.now(), d.settings.tz) - timedelta(days=int(back))
    else:
        day = service.parse_log_day(_text(update), now=d.clock.now(), zone=d.settings.tz)
    _data(context)["day"] = day.isoformat()
    return await _next(update, context, COUNT, lang_of(member, context))


@staff_only
async def got_count(update: Update, context: Context, member: Member) -> int:
    pressed = _pressed(update, "lg:n:")
    _data(context)["count"] = service.parse_count(pressed if pressed is not None else _text(update))
    return await _next(update, context, NOTE, lang_of(member, context))


@staff_only
async def got_note(update: Update, context: Context, member: Member) -> int:
    _data(context)["note"] = "" if update.callback_query is not None else service.check_note(_text(update))
    kind = _kind(context)
    state = MARK if kind is not None and kind.mark_zh else CONFIRM
    return await _next(update, context, state, lang_of(member, context))


@staff_only
async def got_mark(update: Update, context: Context, member: Member) -> int:
    pressed = _pressed(update, "lg:m:")
    if pressed not in ("0", "1"):
        raise AskAgain("common.stale_button")
    _data(context)["marked"] = pressed == "1"
    return await _next(update, context, CONFIRM, lang_of(member, context))


@staff_only
async def confirm(update: Update, context: Context, member: Member) -> int:
    d, lang = deps(context), lang_of(member, context)
    assert context.user_data is not None
    data = dict(_data(context))
    if _pressed(update, "lg:") == "x":
        context.user_data.pop(KEY, None)
        await close_pressed(update)
        await reply(update, t("worklog.cancelled", lang))
        return END
    if _pressed(update, "lg:") != "ok" or "day" not in data:
        raise AskAgain("common.stale_button")
    entry = service.LogEntryIn(kind=data["kind"], on_date=date.fromisoformat(data["day"]), count=data.get("count", 1),
                               note=data.get("note", ""), marked=bool(data.get("marked")))  # fmt: skip
    async with d.db.session() as session:
        row = await service.add_entry(session, entry, review=d.rules.review, now=d.clock.now(), zone=d.settings.tz,
                                      actor_id=member.id, entry_key=data.get("key"))  # fmt: skip
    context.user_data.pop(KEY, None)
    await close_pressed(update)
    kind = d.rules.review.log_kinds[row.kind]
    await reply(update, t("worklog.saved", lang, id=row.id, kind=kind.label(lang), count=row.count, unit=kind.unit(lang)))
    return END


async def cancel(update: Update, context: Context) -> int:
    if context.user_data is not None:
        context.user_data.pop(KEY, None)
    await reply(update, t("worklog.cancelled", lang_of(None, context, update)))
    return END


def register(app: Application) -> None:
    app.add_handler(
        dialog(
            "worklog",
            timeout_minutes=app.bot_data["deps"].settings.dialog_timeout_minutes,
            prompts=PROMPTS,
            buttons="lg:",
            data_key=KEY,
            fields={"date": DAY, "count": COUNT, "note": NOTE},
            entry_points=[CommandHandler("log", start, filters=PRIVATE)],
            states={
                KIND: [CallbackQueryHandler(got_kind, pattern=r"^lg:k:")],
                DAY: [MessageHandler(TYPED, got_day), CallbackQueryHandler(got_day, pattern=r"^lg:d:")],
                COUNT: [MessageHandler(TYPED, got_count), CallbackQueryHandler(got_count, pattern=r"^lg:n:")],
                NOTE: [MessageHandler(TYPED, got_note), CallbackQueryHandler(got_note, pattern=r"^lg:skip$")],
                MARK: [CallbackQueryHandler(got_mark, pattern=r"^lg:m:")],
                CONFIRM: [CallbackQueryHandler(confirm, pattern=r"^lg:(ok|x)$")],
            },
            fallbacks=[CommandHandler("cancel", cancel)],
        )
    )
