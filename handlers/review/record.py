"""/record: the attendance of a meeting for many members at once, in chat — the meeting's type,
its day, then who was there ("出席：全体" / "请假：张三、李四" / "缺席：王五"), then a summary to
confirm."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.core.dates import format_day
from bot.core.i18n import all_texts, t
from bot.core.refusals import AskAgain
from bot.core.rules import ActivityType
from bot.services import activities
from bot.services.activities import ReportError
from bot.telegram.ui import (
    App,
    Buttons,
    Context,
    Prompt,
    close_pressed,
    deps_of,
    keyboard,
    pressed_text,
    rows_of,
)
from handlers import days
from handlers.common import PRIVATE, TYPED, lang_of, load_member, staff_only, typed_text
from handlers.dialog import END, Next, PromptFor, ask, dialog, draft, drop_draft, leave, new_draft, step_label
from models import Member

TYPE, DATE, MEMBERS, CONFIRM = "type", "date", "members", "confirm"
KEY = "record"

BUTTONS = Buttons("rec")
TYPE_BUTTON = BUTTONS("type", word=True)  # an activity code of the rules
DAY = days.day_button(BUTTONS)
SAVE, CANCEL = BUTTONS("ok"), BUTTONS("cancel")

LABELS = {
    "present": tuple(all_texts("review.label_present")),
    "leave": tuple(all_texts("review.label_leave")),
    "absent": tuple(all_texts("review.label_absent")),
}
ALL_WORDS = {w.casefold() for w in all_texts("review.word_all")}


def _record_types(context: Context) -> list[ActivityType]:
    """Meetings the secretariat records: types with no review (they are not reported by members)."""
    rules = context.deps.rules
    chosen = [a for a in rules.activities.values() if not a.review]
    return chosen or list(rules.activities.values())


async def _type_prompt(update: Update, context: Context, lang: str) -> Prompt:
    types = [(a.button(lang), TYPE_BUTTON(a.code)) for a in _record_types(context)]
    rows = [*rows_of(types, 2), [(t("review.btn_cancel", lang), CANCEL())]]
    return step_label(1, 3, lang) + t("review.record_ask_type", lang), keyboard(rows)


async def _date_prompt(update: Update, context: Context, lang: str) -> Prompt:
    rows = [days.day_row(DAY, lang), [(t("review.btn_cancel", lang), CANCEL())]]
    return step_label(2, 3, lang) + t("review.record_ask_date", lang), keyboard(rows)


async def _members_prompt(update: Update, context: Context, lang: str) -> Prompt:
    data = draft(context, KEY)
    day = date.fromisoformat(data["date"]) if data.get("date") else None
    shown = format_day(day, lang, days.today(context)) if day else ""
    return step_label(3, 3, lang) + t("review.record_ask_members", lang, date=shown), None


async def _confirm_prompt(update: Update, context: Context, lang: str) -> Prompt:
    data = draft(context, KEY)
    plan = data.get("plan") or {"present": [], "leave": [], "absent": []}
    activity = context.deps.rules.activities[data["type"]]
    rows = [[(t("review.btn_record_confirm", lang), SAVE()), (t("review.btn_cancel", lang), CANCEL())]]
    text = t(
        "review.record_summary",
        lang,
        type=activity.label(lang),
        date=format_day(date.fromisoformat(data["date"]), lang, days.today(context)),
        present=len(plan["present"]),
        leave=len(plan["leave"]),
        absent=len(plan["absent"]),
    )
    return text, keyboard(rows)


PROMPTS: dict[object, PromptFor] = {
    TYPE: _type_prompt,
    DATE: _date_prompt,
    MEMBERS: _members_prompt,
    CONFIRM: _confirm_prompt,
}


def parse_attendance_text(text: str) -> dict[str, list[str]]:
    """Lines "出席：全体" / "请假：张三、李四" / "缺席：王五"; unlabeled names are present."""
    out: dict[str, list[str]] = {"present": [], "leave": [], "absent": []}
    current = "present"
    for raw_line in text.splitlines():
        line = raw_line.strip()
        for status, labels in LABELS.items():
            for label in labels:
                if line.casefold().startswith(label.casefold()):
                    current = status
                    line = line[len(label) :].lstrip(" :：")
                    break
        out[current].extend(activities.split_names(line))
    return out


@staff_only
async def record_command(update: Update, context: Context, member: Member) -> Next:
    new_draft(context, KEY)
    return await ask(update, context, TYPE, lang_of(member, context))


@staff_only
async def got_type(update: Update, context: Context, member: Member) -> Next:
    code = TYPE_BUTTON.read(update).word
    if code not in {a.code for a in _record_types(context)}:
        raise AskAgain("common.stale_button")
    draft(context, KEY)["type"] = code
    return await ask(update, context, DATE, lang_of(member, context))


@staff_only
async def day_pressed(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["date"] = days.pressed(context, DAY.read(update).number).isoformat()
    return await ask(update, context, MEMBERS, lang_of(member, context))


@staff_only
async def day_typed(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["date"] = days.typed(context, typed_text(update)).isoformat()
    return await ask(update, context, MEMBERS, lang_of(member, context))


@staff_only
async def got_members(update: Update, context: Context, member: Member) -> Next:
    parsed = parse_attendance_text(typed_text(update))
    everyone_present = any(n.casefold() in ALL_WORDS for n in parsed["present"])
    names = (
        [n for n in parsed["present"] if n.casefold() not in ALL_WORDS] + parsed["leave"] + parsed["absent"]
    )
    async with context.deps.db.session() as session:
        matched = await activities.match_names(session, names)
        everyone = await activities.active_member_ids(session)
    if matched.unknown or matched.ambiguous:
        raise AskAgain(
            "review.record_names_problem",
            hand_back=True,
            unknown="、".join(matched.unknown) or "—",
            ambiguous="、".join(matched.ambiguous) or "—",
        )
    ids = {status: [matched.found[n] for n in parsed[status] if n in matched.found] for status in parsed}
    try:
        plan = activities.plan_attendance(
            None if everyone_present else ids["present"], ids["leave"], ids["absent"], everyone
        )
    except ReportError as exc:
        raise AskAgain("review.record_listed_twice", hand_back=True, **exc.params) from None
    if plan.total == 0:
        raise AskAgain("review.record_nobody")
    draft(context, KEY)["plan"] = {"present": plan.present, "leave": plan.leave, "absent": plan.absent}
    return await ask(update, context, CONFIRM, lang_of(member, context))


@staff_only
async def save(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    data = dict(draft(context, KEY))
    if "plan" not in data:
        raise AskAgain("common.stale_button")
    drop_draft(context, KEY)
    d = context.deps
    async with d.db.session() as session:
        created = await activities.record_plan(
            session,
            activities.AttendancePlan(**data["plan"]),
            type_code=data["type"],
            day=date.fromisoformat(data["date"]),
            now=d.clock.now(),
            rules=d.rules,
            recorded_by=member.id,
        )
    done = t(
        "review.record_done",
        lang,
        present=created["present"],
        leave=created["leave"],
        absent=created["absent"],
    )
    await close_pressed(update, f"{pressed_text(update)}\n\n{done}")
    return END


async def cancel(update: Update, context: Context) -> int:
    """取消 or /cancel: nothing is recorded."""
    return await leave(update, context, KEY, "review.record_cancelled", await load_member(update, context))


def build_dialog(app: App) -> Any:
    return dialog(
        "record",
        prompts=PROMPTS,
        buttons=BUTTONS,
        data_key=KEY,
        timeout_minutes=deps_of(app).settings.dialog_timeout_minutes,
        entry_points=[CommandHandler("record", record_command, filters=PRIVATE)],
        states={
            TYPE: [CallbackQueryHandler(got_type, pattern=TYPE_BUTTON.matches)],
            DATE: [CallbackQueryHandler(day_pressed, pattern=DAY.matches), MessageHandler(TYPED, day_typed)],
            MEMBERS: [MessageHandler(TYPED, got_members)],
            CONFIRM: [CallbackQueryHandler(save, pattern=SAVE.matches)],
        },
        fallbacks=[CommandHandler("cancel", cancel), CallbackQueryHandler(cancel, pattern=CANCEL.matches)],
    )
