"""A handling unit's contact at work: /myunit (and its menu button) lists the unit's proposals as
cards with the actions their state allows; 签收 and 申请调整 on the 交办 card; the steps of
recording the contact, the 协办 opinion, the answer and an extension request. Every call checks
that the person is a unit contact (unit_only) and that the assignment is their unit's."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import Update

from bot.core.dates import DateProblem, format_day, parse_activity_date, parse_day
from bot.core.refusals import AskAgain, Refusal
from bot.services.proposals import handling as service
from bot.services.proposals.common import UNIT_OBJECT_BUTTON, UNIT_SIGN_BUTTON, contact_label
from bot.telegram.ui import Context, close_pressed, refuse, reply
from handlers import uploads
from handlers.common import lang_of, main_menu, typed_text, unit_only
from handlers.dialog import END, Next, ask, draft, drop_draft, leaving
from handlers.proposal_units.cards import show_card
from handlers.proposal_units.states import (
    A_CAT,
    A_FILE,
    A_TEXT,
    C_DAY,
    C_KIND,
    CAT_BUTTON,
    DATA_KEY,
    KIND_BUTTON,
    MAX_LISTED,
    OBJ_REASON,
    OPINION,
    SKIP_BUTTON,
    TODAY_BUTTON,
    X_DAY,
    X_REASON,
    today_of,
    unit_t,
    zone_of,
)
from models import HandlingUnit, Member
from models.proposal import ASSIST, MAIN


@unit_only
async def my_unit(update: Update, context: Context, member: Member) -> None:
    """/myunit: the unit's proposals (never another unit's), open ones first, each with its actions."""
    lang = lang_of(member, context)
    async with context.deps.db.session() as session:
        unit = await session.get(HandlingUnit, member.unit_id)
        items = await service.my_items(session, member)
    name = unit.name if unit else ""
    if not items:
        await reply(update, unit_t("list_empty", lang, unit=name), main_menu(lang, member))
        return
    await reply(update, unit_t("menu_header", lang, unit=name, count=len(items)), main_menu(lang, member))
    for one in items[:MAX_LISTED]:
        await show_card(update, context, one, lang)
    if len(items) > MAX_LISTED:
        await reply(update, unit_t("more", lang, shown=MAX_LISTED))


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
        await reply(update, unit_t("already_signed", lang))
    else:
        p = item.proposal
        await reply(
            update,
            unit_t(
                "signed",
                lang,
                number=p.number or "",
                title=p.title,
                due=format_day(item.assignment.due_on, lang, today_of(context)),
            ),
        )
    await show_card(update, context, item, lang)


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
        await service.object_to(
            session,
            member,
            _aid(context),
            typed_text(update),
            now=d.clock.now(),
            staff_chat=d.settings.secretariat_chat_id,
            lang=d.settings.locale,
        )
    drop_draft(context, DATA_KEY)
    await reply(update, unit_t("objected_done", lang))
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
        await service.record_contact(
            session, member, _aid(context), kind=kind, on=day, now=d.clock.now(), today=today_of(context)
        )
    drop_draft(context, DATA_KEY)
    await reply(
        update,
        unit_t(
            "contact_done", lang, day=format_day(day, lang, today_of(context)), kind=contact_label(kind, lang)
        ),
    )
    return END


@unit_only
async def contact_today(update: Update, context: Context, member: Member) -> Next:
    TODAY_BUTTON.read(update)
    return await _contact_on(update, context, member, today_of(context))


@unit_only
async def contact_day(update: Update, context: Context, member: Member) -> Next:
    answer = parse_activity_date(typed_text(update), today=today_of(context))
    if (
        answer.day is None
        or answer.problem is DateProblem.UNREADABLE
        or answer.problem is DateProblem.NO_SUCH_DAY
    ):
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
    drop_draft(context, DATA_KEY)
    await reply(update, unit_t("opinion_done", lang))
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
            lines = [unit_t("opinions_header", lang)] + [
                unit_t("opinion_line", lang, unit=unit, opinion=text)
                if text
                else unit_t("opinion_missing", lang, unit=unit)
                for unit, text in views
            ]
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
    letter = service.check_letter(
        service.Letter(doc.file_id, doc.file_unique_id, doc.file_name, doc.mime_type, doc.file_size)
    )
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
            session,
            member,
            _aid(context),
            text=str(data.get("text", "")),
            category=str(data.get("category", "")),
            letter=letter,
            now=d.clock.now(),
            rules=d.rules.proposal,
            staff_chat=d.settings.secretariat_chat_id,
            default_lang=d.settings.locale,
        )
    drop_draft(context, DATA_KEY)
    await reply(update, unit_t("answer_done_all" if done else "answer_done", lang))
    return END


@unit_only
async def extend_start(update: Update, context: Context, member: Member) -> Next:
    assignment_id = service.EXTEND_BUTTON.read(update).number
    async with context.deps.db.session() as session:
        item = await service.check_extension(session, member, assignment_id)
    a = item.assignment
    latest = service.latest_day(a, zone_of(context), context.deps.settings.proposal_max_days)
    _start(context, assignment_id, due=a.due_on.isoformat(), latest=latest.isoformat())
    return await ask(update, context, X_DAY, lang_of(member, context))


@unit_only
async def extend_day(update: Update, context: Context, member: Member) -> Next:
    d = context.deps
    answer = parse_day(typed_text(update), today=today_of(context), ahead=True)
    if answer.day is None:
        raise service.UnitError("bad_day")
    async with d.db.session() as session:
        item = await service.check_extension(session, member, _aid(context))
        service.check_extension_day(
            item.assignment, answer.day, zone=zone_of(context), max_days=d.settings.proposal_max_days
        )
    draft(context, DATA_KEY)["until"] = answer.day.isoformat()
    return await ask(update, context, X_REASON, lang_of(member, context))


@unit_only
async def extend_reason(update: Update, context: Context, member: Member) -> Next:
    d, lang = context.deps, lang_of(member, context)
    until = date.fromisoformat(str(draft(context, DATA_KEY).get("until")))
    async with d.db.session() as session:
        await service.request_extension(
            session,
            member,
            _aid(context),
            until=until,
            reason=typed_text(update),
            now=d.clock.now(),
            zone=zone_of(context),
            max_days=d.settings.proposal_max_days,
            staff_chat=d.settings.secretariat_chat_id,
            lang=d.settings.locale,
        )
    drop_draft(context, DATA_KEY)
    await reply(update, unit_t("extension_done", lang, until=format_day(until, lang, today_of(context))))
    return END


cancel = leaving(DATA_KEY, "proposals_unit.cancelled")  # /cancel, in the app's language as before
