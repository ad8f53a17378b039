"""A handling unit's contact at work: /myunit (and its menu button) lists the unit's proposals as
cards with the actions their state allows; 签收 and 申请调整 on the 交办 card; the steps of
recording the contact, the 协办 opinion, the answer and an extension request. Every call checks
that the person is a unit contact (unit_only) and that the assignment is their unit's."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot.core.dates import DateProblem, format_day, parse_activity_date, parse_day, today_in
from bot.core.i18n import t
from bot.core.refusals import AskAgain, Refusal
from bot.services.proposals import handling as service
from bot.services.proposals.common import (
    UNIT_OBJECT_BUTTON,
    UNIT_SIGN_BUTTON,
    contact_label,
    role_label,
)
from bot.telegram.ui import (
    Buttons,
    Context,
    Prompt,
    Row,
    close_pressed,
    keyboard,
    refuse,
    reply,
)
from handlers import uploads
from handlers.common import lang_of, main_menu, typed_text, unit_only
from handlers.dialog import END, Next, PromptFor, ask, draft
from models import HandlingUnit, Member
from models.proposal import A_ASSIGNED, A_SIGNED, ASSIGNED, ASSIST, CONTACT_KINDS, EXT_REQUESTED, MAIN

DATA_KEY = "punit"
OBJ_REASON, C_KIND, C_DAY, OPINION, A_CAT, A_TEXT, A_FILE, X_DAY, X_REASON = (
    "obj_reason", "c_kind", "c_day", "opinion", "a_cat", "a_text", "a_file", "x_day", "x_reason")
MAX_LISTED = 10
SUGGESTION_PREVIEW = 300

# The dialogs' own buttons.
DIALOG = Buttons("pans")
KIND_BUTTON = DIALOG("kind", words=CONTACT_KINDS)
TODAY_BUTTON = DIALOG("today")
CAT_BUTTON = DIALOG("cat", word=True)
SKIP_BUTTON = DIALOG("skip")


def _t(key: str, lang: str, **params: object) -> str:
    return t(f"proposals_unit.{key}", lang, **params)


def _zone(context: Context) -> Any:
    return context.deps.settings.tz


def _today(context: Context) -> date:
    return today_in(context.deps.clock.now(), _zone(context))


def card_text(item: service.Item, lang: str, context: Context, unit_name: str = "") -> str:
    a, p = item.assignment, item.proposal
    today = _today(context)
    lines = [_t("card", lang, number=p.number or "", title=p.title, role=role_label(a.role, lang),
                state=_t(f"astate.{a.state}", lang), due=format_day(a.due_on, lang, today))]
    if p.suggestion and a.state == A_ASSIGNED:
        text = p.suggestion if len(p.suggestion) <= SUGGESTION_PREVIEW else p.suggestion[:SUGGESTION_PREVIEW] + "…"
        lines.append(_t("card_suggestion", lang, text=text))
    if a.contact_on and a.contact_kind:
        lines.append(_t("card_contact", lang, day=format_day(a.contact_on, lang, today),
                        kind=contact_label(a.contact_kind, lang)))
    if a.opinion:
        lines.append(_t("card_opinion", lang))
    if a.answer_category:
        found = context.deps.rules.proposal.answer_category(a.answer_category)
        lines.append(_t("card_answer", lang, category=f"{a.answer_category} {found.label(lang) if found else ''}"))
    if a.objection and a.state != A_SIGNED:
        lines.append(_t("card_objection", lang, reason=a.objection))
    if a.extension_state == EXT_REQUESTED and a.extension_until:
        lines.append(_t("card_extension", lang, until=format_day(a.extension_until, lang, today)))
    if p.state != ASSIGNED and a.state in (A_ASSIGNED, A_SIGNED):
        lines.append(_t("card_closed", lang))
    return "\n".join(lines)


def card_buttons(item: service.Item, lang: str, context: Context) -> InlineKeyboardMarkup | None:
    a, p = item.assignment, item.proposal
    assert a.id is not None
    if p.state != ASSIGNED:
        return None
    now = context.deps.clock.now().replace(tzinfo=None)
    rows: list[Row] = []
    if a.state == A_ASSIGNED:
        rows.append([(_t("button.sign", lang), UNIT_SIGN_BUTTON(a.id))])
    if a.state == A_SIGNED:
        work = [(_t("button.contact", lang), service.CONTACT_BUTTON(a.id))]
        if a.role == ASSIST:
            work.append((_t("button.opinion", lang), service.OPINION_BUTTON(a.id)))
        else:
            work.append((_t("button.answer", lang), service.ANSWER_BUTTON(a.id)))
        rows.append(work)
        if a.extension_state != EXT_REQUESTED:
            rows.append([(_t("button.extend", lang), service.EXTEND_BUTTON(a.id))])
    if a.state in (A_ASSIGNED, A_SIGNED) and now <= a.object_until:
        rows.append([(_t("button.object", lang), UNIT_OBJECT_BUTTON(a.id))])
    return keyboard(rows) if rows else None


async def _show(update: Update, context: Context, item: service.Item, lang: str) -> None:
    await reply(update, card_text(item, lang, context), card_buttons(item, lang, context))


@unit_only
async def my_unit(update: Update, context: Context, member: Member) -> None:
    """/myunit: the unit's proposals (never another unit's), open ones first, each with its actions."""
    lang = lang_of(member, context)
    async with context.deps.db.session() as session:
        unit = await session.get(HandlingUnit, member.unit_id)
        items = await service.my_items(session, member)
    name = unit.name if unit else ""
    if not items:
        await reply(update, _t("list_empty", lang, unit=name), main_menu(lang, member))
        return
    await reply(update, _t("menu_header", lang, unit=name, count=len(items)), main_menu(lang, member))
    for one in items[:MAX_LISTED]:
        await _show(update, context, one, lang)
    if len(items) > MAX_LISTED:
        await reply(update, _t("more", lang, shown=MAX_LISTED))


@unit_only
async def sign(update: Update, context: Context, member: Member) -> None:
    """签收 on the 交办 card or a list card."""
    lang, d = lang_of(member, context), context.deps
    assignment_id = UNIT_SIGN_BUTTON.read(update).number
    try:
        async with d.db.session() as session:
            item, signed = await service.sign(session, member, assignment_id, now=d.clock.now())
    except Refusal as refusal:
        await refuse(update, refusal.text(lang))
        return
    await close_pressed(update)
    if not signed:
        await reply(update, _t("already_signed", lang))
    else:
        p = item.proposal
        await reply(update, _t("signed", lang, number=p.number or "", title=p.title,
                               due=format_day(item.assignment.due_on, lang, _today(context))))
    await _show(update, context, item, lang)


# ------------------------------------------------------------------ the dialog's entries


def _start(context: Context, assignment_id: int, **extra: Any) -> dict[str, Any]:
    assert context.user_data is not None
    data: dict[str, Any] = {"aid": assignment_id, **extra}
    context.user_data[DATA_KEY] = data
    return data


def _aid(context: Context) -> int:
    value = draft(context, DATA_KEY).get("aid")
    if not isinstance(value, int):
        raise service.UnitError("not_yours")
    return value


@unit_only
async def object_start(update: Update, context: Context, member: Member) -> Next:
    lang, d = lang_of(member, context), context.deps
    assignment_id = UNIT_OBJECT_BUTTON.read(update).number
    async with d.db.session() as session:
        item = await service.check_objection(session, member, assignment_id, now=d.clock.now())
    _start(context, assignment_id, until=item.assignment.object_until.isoformat())
    return await ask(update, context, OBJ_REASON, lang)


@unit_only
async def object_reason(update: Update, context: Context, member: Member) -> Next:
    lang, d = lang_of(member, context), context.deps
    async with d.db.session() as session:
        await service.object_to(session, member, _aid(context), typed_text(update), now=d.clock.now(),
                                staff_chat=d.settings.secretariat_chat_id, lang=d.settings.locale)
    _drop(context)
    await reply(update, _t("objected_done", lang))
    return END


async def _working(context: Context, member: Member, assignment_id: int) -> service.Item:
    async with context.deps.db.session() as session:
        return await service.check_working(session, member, assignment_id)


@unit_only
async def contact_start(update: Update, context: Context, member: Member) -> Next:
    assignment_id = service.CONTACT_BUTTON.read(update).number
    await _working(context, member, assignment_id)
    _start(context, assignment_id)
    return await ask(update, context, C_KIND, lang_of(member, context))


@unit_only
async def contact_kind(update: Update, context: Context, member: Member) -> Next:
    draft(context, DATA_KEY)["kind"] = KIND_BUTTON.read(update).word
    return await ask(update, context, C_DAY, lang_of(member, context))


async def _contact_on(update: Update, context: Context, member: Member, day: date) -> Next:
    d, lang = context.deps, lang_of(member, context)
    kind = str(draft(context, DATA_KEY).get("kind", ""))
    async with d.db.session() as session:
        await service.record_contact(session, member, _aid(context), kind=kind, on=day, now=d.clock.now(),
                                     today=_today(context))
    _drop(context)
    await reply(update, _t("contact_done", lang, day=format_day(day, lang, _today(context)),
                           kind=contact_label(kind, lang)))
    return END


@unit_only
async def contact_today(update: Update, context: Context, member: Member) -> Next:
    TODAY_BUTTON.read(update)
    return await _contact_on(update, context, member, _today(context))


@unit_only
async def contact_day(update: Update, context: Context, member: Member) -> Next:
    answer = parse_activity_date(typed_text(update), today=_today(context))
    if answer.day is None or answer.problem is DateProblem.UNREADABLE or answer.problem is DateProblem.NO_SUCH_DAY:
        raise service.UnitError("bad_day")
    if answer.problem is DateProblem.FUTURE:
        raise service.UnitError("day_future")
    return await _contact_on(update, context, member, answer.day)


@unit_only
async def opinion_start(update: Update, context: Context, member: Member) -> Next:
    assignment_id = service.OPINION_BUTTON.read(update).number
    item = await _working(context, member, assignment_id)
    if item.assignment.role != ASSIST:
        raise service.UnitError("wrong_role")
    _start(context, assignment_id)
    return await ask(update, context, OPINION, lang_of(member, context))


@unit_only
async def opinion_text(update: Update, context: Context, member: Member) -> Next:
    d, lang = context.deps, lang_of(member, context)
    async with d.db.session() as session:
        await service.send_opinion(session, member, _aid(context), typed_text(update), now=d.clock.now())
    _drop(context)
    await reply(update, _t("opinion_done", lang))
    return END


@unit_only
async def answer_start(update: Update, context: Context, member: Member) -> Next:
    """答复: the 主办 first sees the 协办 units' opinions, then picks the category."""
    lang = lang_of(member, context)
    assignment_id = service.ANSWER_BUTTON.read(update).number
    item = await _working(context, member, assignment_id)
    if item.assignment.role == ASSIST:
        raise service.UnitError("wrong_role")
    if item.assignment.role == MAIN:
        async with context.deps.db.session() as session:
            views = await service.opinions(session, item.proposal.id or 0)
        if views:
            lines = [_t("opinions_header", lang)] + [
                _t("opinion_line", lang, unit=unit, opinion=text) if text else _t("opinion_missing", lang, unit=unit)
                for unit, text in views]
            await reply(update, "\n".join(lines))
    _start(context, assignment_id)
    return await ask(update, context, A_CAT, lang)


@unit_only
async def answer_category(update: Update, context: Context, member: Member) -> Next:
    code = CAT_BUTTON.read(update).word
    service.check_category(code, context.deps.rules.proposal)
    draft(context, DATA_KEY)["category"] = code
    return await ask(update, context, A_TEXT, lang_of(member, context))


@unit_only
async def answer_text(update: Update, context: Context, member: Member) -> Next:
    draft(context, DATA_KEY)["text"] = service.check_answer_text(typed_text(update))
    return await ask(update, context, A_FILE, lang_of(member, context))


@unit_only
async def answer_file(update: Update, context: Context, member: Member) -> Next:
    message = update.effective_message
    doc = message.document if message is not None else None
    if doc is None:
        raise service.UnitError("letter_type")
    letter = service.check_letter(service.Letter(doc.file_id, doc.file_unique_id, doc.file_name, doc.mime_type,
                                                 doc.file_size))
    if problem := await uploads.problem(context, doc.file_id, doc.file_size, uploads.DOCUMENT):
        raise AskAgain(problem, max=uploads.MAX_MEGABYTES)
    return await _answer(update, context, member, letter)


@unit_only
async def answer_skip(update: Update, context: Context, member: Member) -> Next:
    SKIP_BUTTON.read(update)
    return await _answer(update, context, member, None)


async def _answer(update: Update, context: Context, member: Member, letter: service.Letter | None) -> Next:
    d, lang = context.deps, lang_of(member, context)
    data = draft(context, DATA_KEY)
    async with d.db.session() as session:
        _item, done = await service.answer(
            session, member, _aid(context), text=str(data.get("text", "")), category=str(data.get("category", "")),
            letter=letter, now=d.clock.now(), rules=d.rules.proposal, staff_chat=d.settings.secretariat_chat_id,
            default_lang=d.settings.locale)
    _drop(context)
    await reply(update, _t("answer_done_all" if done else "answer_done", lang))
    return END


@unit_only
async def extend_start(update: Update, context: Context, member: Member) -> Next:
    assignment_id = service.EXTEND_BUTTON.read(update).number
    async with context.deps.db.session() as session:
        item = await service.check_extension(session, member, assignment_id)
    a = item.assignment
    latest = service.latest_day(a, _zone(context), context.deps.settings.proposal_max_days)
    _start(context, assignment_id, due=a.due_on.isoformat(), latest=latest.isoformat())
    return await ask(update, context, X_DAY, lang_of(member, context))


@unit_only
async def extend_day(update: Update, context: Context, member: Member) -> Next:
    d = context.deps
    answer = parse_day(typed_text(update), today=_today(context), ahead=True)
    if answer.day is None:
        raise service.UnitError("bad_day")
    async with d.db.session() as session:
        item = await service.check_extension(session, member, _aid(context))
        service.check_extension_day(item.assignment, answer.day, zone=_zone(context),
                                    max_days=d.settings.proposal_max_days)
    draft(context, DATA_KEY)["until"] = answer.day.isoformat()
    return await ask(update, context, X_REASON, lang_of(member, context))


@unit_only
async def extend_reason(update: Update, context: Context, member: Member) -> Next:
    d, lang = context.deps, lang_of(member, context)
    until = date.fromisoformat(str(draft(context, DATA_KEY).get("until")))
    async with d.db.session() as session:
        await service.request_extension(session, member, _aid(context), until=until, reason=typed_text(update),
                                        now=d.clock.now(), zone=_zone(context), max_days=d.settings.proposal_max_days,
                                        staff_chat=d.settings.secretariat_chat_id, lang=d.settings.locale)
    _drop(context)
    await reply(update, _t("extension_done", lang, until=format_day(until, lang, _today(context))))
    return END


async def cancel(update: Update, context: Context) -> int:
    _drop(context)
    await reply(update, _t("cancelled", lang_of(None, context, update)))
    return END


def _drop(context: Context) -> None:
    if context.user_data is not None:
        context.user_data.pop(DATA_KEY, None)


# ------------------------------------------------------------------ the prompts


def _day(context: Context, key: str) -> date | None:
    value = draft(context, DATA_KEY).get(key)
    return date.fromisoformat(value) if isinstance(value, str) else None


async def prompt_object(update: Update, context: Context, lang: str) -> Prompt:
    until = draft(context, DATA_KEY).get("until")
    shown = ""
    if isinstance(until, str):
        from datetime import UTC, datetime

        moment = datetime.fromisoformat(until).replace(tzinfo=UTC).astimezone(_zone(context))
        shown = format_day(moment.date(), lang, _today(context))
    return _t("ask_object_reason", lang, until=shown), None


async def prompt_kind(update: Update, context: Context, lang: str) -> Prompt:
    return _t("ask_contact_kind", lang), keyboard(
        [[(contact_label(kind, lang), KIND_BUTTON(kind)) for kind in CONTACT_KINDS]])


async def prompt_day(update: Update, context: Context, lang: str) -> Prompt:
    return _t("ask_contact_day", lang), keyboard([[(_t("button.today", lang), TODAY_BUTTON())]])


async def prompt_opinion(update: Update, context: Context, lang: str) -> Prompt:
    return _t("ask_opinion", lang, max=service.MAX_OPINION), None


async def prompt_category(update: Update, context: Context, lang: str) -> Prompt:
    categories = context.deps.rules.proposal.answer_categories
    return _t("ask_category", lang), keyboard(
        [[(f"{c.code} {c.label(lang)}", CAT_BUTTON(c.code))] for c in categories])


async def prompt_answer(update: Update, context: Context, lang: str) -> Prompt:
    return _t("ask_answer", lang, min=service.MIN_ANSWER, max=service.MAX_ANSWER), None


async def prompt_letter(update: Update, context: Context, lang: str) -> Prompt:
    return _t("ask_letter", lang), keyboard([[(_t("button.skip", lang), SKIP_BUTTON())]])


async def prompt_extension_day(update: Update, context: Context, lang: str) -> Prompt:
    today = _today(context)
    due, latest = _day(context, "due"), _day(context, "latest")
    return _t("ask_extension_day", lang, due=format_day(due, lang, today) if due else "",
              latest=format_day(latest, lang, today) if latest else ""), None


async def prompt_extension_reason(update: Update, context: Context, lang: str) -> Prompt:
    return _t("ask_extension_reason", lang), None


PROMPTS: dict[object, PromptFor] = {
    OBJ_REASON: prompt_object, C_KIND: prompt_kind, C_DAY: prompt_day, OPINION: prompt_opinion,
    A_CAT: prompt_category, A_TEXT: prompt_answer, A_FILE: prompt_letter, X_DAY: prompt_extension_day,
    X_REASON: prompt_extension_reason,
}
