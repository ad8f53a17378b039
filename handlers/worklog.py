"""/log: the secretariat records an entry of the committee's own work log (向区委请示报告,
接待来访调研考察, 出版/编纂, 宣传简讯 and whether it was reprinted) in a short guided chat:
kind, day, count, note, the kind's mark, then save. The role is checked on every step; a refused
answer asks the same step again (handlers.dialog); saving twice stores one entry."""

from __future__ import annotations

from datetime import date, timedelta

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.core.dates import format_day, today_in
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.core.review_rules import LogKind
from bot.services import worklog as service
from bot.telegram.ui import App, Buttons, Context, Prompt, close_pressed, grid, keyboard, read_code, reply
from handlers.common import PRIVATE, lang_of, staff_only, typed_text
from handlers.dialog import (
    END,
    Next,
    PromptFor,
    State,
    ask,
    draft,
    drop_draft,
    leaving,
    new_draft,
    numbered,
    timed_dialog,
    typed_or,
)
from models import Member

KIND, DAY, COUNT, NOTE, MARK, CONFIRM = "kind", "day", "count", "note", "mark", "confirm"
STEPS = {KIND: 1, DAY: 2, COUNT: 3, NOTE: 4, MARK: 5}
KEY = "worklog"

BUTTONS = Buttons("lg")
KIND_BUTTON = BUTTONS("k", word=True)  # a [[log]] code of the rules
DAY_BUTTON = BUTTONS("d", numbers=range(0, 2))  # today, yesterday
ONE = BUTTONS("n", numbers=range(1, 2))
SKIP = BUTTONS("skip")
MARK_BUTTON = BUTTONS("m", numbers=range(0, 2))  # no, yes
SAVE, CANCEL = BUTTONS("ok"), BUTTONS("x")


def _kind(context: Context) -> LogKind | None:
    return context.deps.rules.review.log_kinds.get(draft(context, KEY).get("kind", ""))


def _numbered(context: Context, state: State, key: str, lang: str, **params: object) -> str:
    kind = _kind(context)
    total = 5 if kind is not None and kind.mark_zh else 4
    return numbered(STEPS, state, key, lang, of=total, **params)


async def _kind_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kinds = [(k.button(lang), KIND_BUTTON(k.code)) for k in context.deps.rules.review.log_kinds.values()]
    return _numbered(context, KIND, "worklog.ask_kind", lang), grid(kinds, 2)


async def _day_prompt(update: Update, context: Context, lang: str) -> Prompt:
    row = [(t("worklog.btn_today", lang), DAY_BUTTON(0)), (t("worklog.btn_yesterday", lang), DAY_BUTTON(1))]
    return _numbered(context, DAY, "worklog.ask_day", lang), keyboard([row])


async def _count_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kind = _kind(context)
    unit = kind.unit(lang) if kind else ""
    text = _numbered(context, COUNT, "worklog.ask_count", lang, unit=unit)
    return text, keyboard([[(f"1 {unit}".strip(), ONE(1))]])


async def _note_prompt(update: Update, context: Context, lang: str) -> Prompt:
    text = _numbered(context, NOTE, "worklog.ask_note", lang, limit=service.MAX_NOTE)
    return text, keyboard([[(t("worklog.btn_skip", lang), SKIP())]])


async def _mark_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kind = _kind(context)
    row = [(t("worklog.btn_yes", lang), MARK_BUTTON(1)), (t("worklog.btn_no", lang), MARK_BUTTON(0))]
    text = _numbered(context, MARK, "worklog.ask_mark", lang, mark=kind.mark(lang) if kind else "")
    return text, keyboard([row])


async def _confirm_prompt(update: Update, context: Context, lang: str) -> Prompt:
    data, kind = draft(context, KEY), _kind(context)
    d = context.deps
    today = today_in(d.clock.now(), d.settings.tz)
    summary = t(
        "worklog.summary", lang, kind=kind.label(lang) if kind else "",
        day=format_day(date.fromisoformat(data["day"]), lang, today), count=data.get("count", 1),
        unit=kind.unit(lang) if kind else "", note=data.get("note") or t("worklog.no_note", lang),
    )  # fmt: skip
    if kind is not None and kind.mark_zh:
        mark = kind.mark(lang) if data.get("marked") else t("worklog.not_marked", lang, mark=kind.mark(lang))
        summary += "\n" + t("worklog.summary_mark", lang, mark=mark)
    row = [(t("worklog.btn_save", lang), SAVE()), (t("worklog.btn_cancel", lang), CANCEL())]
    return summary, keyboard([row])


PROMPTS: dict[object, PromptFor] = {
    KIND: _kind_prompt,
    DAY: _day_prompt,
    COUNT: _count_prompt,
    NOTE: _note_prompt,
    MARK: _mark_prompt,
    CONFIRM: _confirm_prompt,
}


@staff_only
async def start(update: Update, context: Context, member: Member) -> Next:
    """/log: start the guided chat."""
    new_draft(context, KEY, once=True)  # the entry is stored once, however often 保存 is pressed
    return await ask(update, context, KIND, lang_of(member, context))


@staff_only
async def got_kind(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["kind"] = read_code(update, KIND_BUTTON, context.deps.rules.review.log_kinds)
    return await ask(update, context, DAY, lang_of(member, context))


@staff_only
async def got_day(update: Update, context: Context, member: Member) -> Next:
    d = context.deps
    if update.callback_query is not None:
        day = today_in(d.clock.now(), d.settings.tz) - timedelta(days=DAY_BUTTON.read(update).number)
    else:
        day = service.parse_log_day(typed_text(update), now=d.clock.now(), zone=d.settings.tz)
    draft(context, KEY)["day"] = day.isoformat()
    return await ask(update, context, COUNT, lang_of(member, context))


@staff_only
async def got_count(update: Update, context: Context, member: Member) -> Next:
    typed = str(ONE.read(update).number) if update.callback_query is not None else typed_text(update)
    draft(context, KEY)["count"] = service.parse_count(typed)
    return await ask(update, context, NOTE, lang_of(member, context))


@staff_only
async def got_note(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["note"] = (
        "" if update.callback_query is not None else service.check_note(typed_text(update))
    )
    kind = _kind(context)
    return await ask(
        update, context, MARK if kind is not None and kind.mark_zh else CONFIRM, lang_of(member, context)
    )


@staff_only
async def got_mark(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["marked"] = MARK_BUTTON.read(update).number == 1
    return await ask(update, context, CONFIRM, lang_of(member, context))


@staff_only
async def save(update: Update, context: Context, member: Member) -> Next:
    d, lang = context.deps, lang_of(member, context)
    data = dict(draft(context, KEY))
    if "day" not in data or "kind" not in data:
        raise AskAgain("common.stale_button")
    entry = service.LogEntryIn(kind=data["kind"], on_date=date.fromisoformat(data["day"]), count=data.get("count", 1),
                               note=data.get("note", ""), marked=bool(data.get("marked")))  # fmt: skip
    async with d.db.session() as session:
        row = await service.add_entry(session, entry, review=d.rules.review, now=d.clock.now(), zone=d.settings.tz,
                                      actor_id=member.id, entry_key=data.get("key"))  # fmt: skip
    drop_draft(context, KEY)
    await close_pressed(update)
    kind = d.rules.review.log_kinds[row.kind]
    await reply(
        update,
        t("worklog.saved", lang, id=row.id, kind=kind.label(lang), count=row.count, unit=kind.unit(lang)),
    )
    return END


cancel = leaving(KEY, "worklog.cancelled", staff_only)  # 取消 under the summary
cancel_command = leaving(KEY, "worklog.cancelled")  # /cancel at any step: nothing is stored


def register(app: App) -> None:
    app.add_handler(
        timed_dialog(
            app,
            "worklog",
            prompts=PROMPTS,
            buttons=BUTTONS,
            data_key=KEY,
            fields={"date": DAY, "count": COUNT, "note": NOTE},
            entry_points=[CommandHandler("log", start, filters=PRIVATE)],
            states={
                KIND: [CallbackQueryHandler(got_kind, pattern=KIND_BUTTON.matches)],
                DAY: typed_or(got_day, DAY_BUTTON),
                COUNT: typed_or(got_count, ONE),
                NOTE: typed_or(got_note, SKIP),
                MARK: [CallbackQueryHandler(got_mark, pattern=MARK_BUTTON.matches)],
                CONFIRM: [
                    CallbackQueryHandler(save, pattern=SAVE.matches),
                    CallbackQueryHandler(cancel, pattern=CANCEL.matches),
                ],
            },
            fallbacks=[CommandHandler("cancel", cancel_command)],
        )
    )
