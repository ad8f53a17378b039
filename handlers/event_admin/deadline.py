"""/deadline: the upcoming deadlines, then a guided chat for a new one — title, due date,
requirement (at least so many 社情民意 items, activities of a type, or points by the due date)."""

from __future__ import annotations

from datetime import date, timedelta

from telegram import Update

from bot.core.dates import format_day, parse_day, short_day
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.services import deadlines as service
from bot.telegram.ui import Buttons, Context, Prompt, close_pressed, grid, keyboard, read_code, reply
from handlers import days
from handlers.common import lang_of, staff_only, typed_text, typed_within
from handlers.dialog import END, Next, PromptFor, ask, draft, drop_draft, leave, leaving, new_draft, numbered
from models import Member

TITLE, DUE, REQUIREMENT, TYPE, VALUE, CONFIRM = "title", "due", "requirement", "type", "value", "confirm"
KEY = "deadline_admin"
STEPS = {TITLE: 1, DUE: 2, REQUIREMENT: 3, TYPE: 3, VALUE: 3}

BUTTONS = Buttons("dl")
REQUIREMENT_BUTTON = BUTTONS("r", words=service.REQUIREMENT_TYPES)
TYPE_BUTTON = BUTTONS("t", word=True)  # an activity code of the rules
SAVE, CANCEL = BUTTONS("ok"), BUTTONS("cancel")


async def _title_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return numbered(STEPS, TITLE, "deadlines.ask_title", lang, limit=service.MAX_TITLE), None


async def _due_prompt(update: Update, context: Context, lang: str) -> Prompt:
    example = short_day(days.today(context) + timedelta(days=14), lang)
    return numbered(STEPS, DUE, "deadlines.ask_due", lang, example=example), None


async def _requirement_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kinds = [(t(f"deadlines.req_button_{k}", lang), REQUIREMENT_BUTTON(k)) for k in service.REQUIREMENT_TYPES]
    return numbered(STEPS, REQUIREMENT, "deadlines.ask_requirement", lang), grid(kinds, 3)


async def _type_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kinds = [(a.button(lang), TYPE_BUTTON(a.code)) for a in context.deps.rules.activities.values()]
    return numbered(STEPS, TYPE, "deadlines.ask_type", lang), grid(kinds, 2)


async def _value_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kind = draft(context, KEY).get("type", "info")
    return numbered(STEPS, VALUE, f"deadlines.ask_value_{kind}", lang), None


async def _confirm_prompt(update: Update, context: Context, lang: str) -> Prompt:
    data = draft(context, KEY)
    summary = t(
        "deadlines.summary",
        lang,
        title=data["title"],
        due=format_day(date.fromisoformat(data["due"]), lang, days.today(context)),
        requirement=service.describe(data["requirement"], context.deps.rules, lang),
    )
    return summary, keyboard(
        [[(t("deadlines.save", lang), SAVE()), (t("events.admin.cancel", lang), CANCEL())]]
    )


PROMPTS: dict[object, PromptFor] = {
    TITLE: _title_prompt,
    DUE: _due_prompt,
    REQUIREMENT: _requirement_prompt,
    TYPE: _type_prompt,
    VALUE: _value_prompt,
    CONFIRM: _confirm_prompt,
}


@staff_only
async def new_deadline(update: Update, context: Context, member: Member) -> Next:
    """/deadline: the upcoming deadlines, then the guided chat for a new one."""
    d, lang = context.deps, lang_of(member, context)
    new_draft(context, KEY)
    async with d.db.session() as session:
        current = await service.list_deadlines(session, now=d.clock.now(), zone=d.settings.tz)
    if current:
        lines = [
            t(
                "deadlines.list_item",
                lang,
                title=x.title,
                due=format_day(x.due_on, lang, days.today(context)),
                requirement=service.describe(x.requirement, d.rules, lang),
            )
            for x in current[:20]
        ]
        await reply(update, t("deadlines.list_header", lang) + "\n" + "\n".join(lines))
    return await ask(update, context, TITLE, lang)


@staff_only
async def got_title(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["title"] = typed_within(update, service.MAX_TITLE, "deadlines.error.title_too_long")
    return await ask(update, context, DUE, lang_of(member, context))


@staff_only
async def got_due(update: Update, context: Context, member: Member) -> Next:
    today = days.today(context)
    answer = parse_day(typed_text(update), today=today, ahead=True)
    if answer.day is None:
        raise AskAgain("deadlines.error.bad_date", text=typed_text(update)[:20])
    if answer.day < today:
        raise AskAgain("deadlines.error.in_past")
    draft(context, KEY)["due"] = answer.day.isoformat()
    return await ask(update, context, REQUIREMENT, lang_of(member, context))


@staff_only
async def got_requirement(update: Update, context: Context, member: Member) -> Next:
    kind = REQUIREMENT_BUTTON.read(update).word
    data = draft(context, KEY)
    data["type"] = kind
    data.pop("code", None)
    return await ask(update, context, TYPE if kind == "activity" else VALUE, lang_of(member, context))


@staff_only
async def got_type(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["code"] = read_code(update, TYPE_BUTTON, context.deps.rules.activities)
    return await ask(update, context, VALUE, lang_of(member, context))


@staff_only
async def got_value(update: Update, context: Context, member: Member) -> Next:
    data = draft(context, KEY)
    spec = data["type"] + (f":{data['code']}" if data.get("code") else "") + f":{typed_text(update)}"
    data["requirement"] = service.parse_requirement(spec, context.deps.rules)
    return await ask(update, context, CONFIRM, lang_of(member, context))


@staff_only
async def save(update: Update, context: Context, member: Member) -> Next:
    d, lang = context.deps, lang_of(member, context)
    data = dict(draft(context, KEY))
    if "requirement" not in data:
        raise AskAgain("common.stale_button")
    async with d.db.session() as session:
        deadline = await service.create_deadline(
            session,
            title=data["title"],
            due_on=date.fromisoformat(data["due"]),
            requirement=data["requirement"],
            now=d.clock.now(),
            zone=d.settings.tz,
            created_by=member.id,
        )
    drop_draft(context, KEY)
    await close_pressed(update)
    due = format_day(deadline.due_on, lang, days.today(context))
    await reply(update, t("deadlines.saved", lang, title=deadline.title, due=due))
    return END


cancel = leaving(KEY, "events.admin.cancelled")  # /cancel at any step: nothing is stored


@staff_only
async def cancel_pressed(update: Update, context: Context, member: Member) -> Next:
    """取消 under the summary (said in the app's language, like /cancel)."""
    return await leave(update, context, KEY, "events.admin.cancelled")
