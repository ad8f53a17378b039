"""/proposals: the secretariat's inbox of proposals by view (待审查, 待交办, 办理中, 逾期, 待评价, 重点),
a page at a time, and a proposal's card (its proposers, units, history) with a button for each move
open now. The card also opens from the 📄 button the other parts put on notices to the secretariat
(common.STAFF_OPEN_BUTTON)."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.core.dates import format_day, format_moment, today_in
from bot.core.i18n import t
from bot.services.proposals import common, filing
from bot.services.proposals.common import role_label, state_label
from bot.telegram.ui import OFFSETS, ROW_IDS, Buttons, Context, Row, answer_once, keyboard, reply, rows_of
from handlers.common import lang_of, staff_only
from handlers.dialog import END, Next, drop_draft
from models import Member

KEY = "proposal_review"  # the move under way (user_data)
PAGE = 5
EXCERPT = 500

BUTTONS = Buttons("pstaff")
OPEN = common.STAFF_OPEN_BUTTON  # pstaff:open:<proposal id>
VIEW = BUTTONS("q", words=filing.VIEWS, numbers=OFFSETS)  # a view of the inbox from an offset
MOVE = BUTTONS("m", words=filing.PROPOSAL_MOVES, numbers=ROW_IDS)  # a move on a proposal
UNIT_MOVE = BUTTONS("a", words=filing.ASSIGNMENT_MOVES, numbers=ROW_IDS)  # a move on an assignment


def _excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"


def render(card: filing.Card, lang: str, context: Context) -> str:
    """A proposal as the secretariat reads it: state, proposers, content, units, history."""
    d = context.deps
    tz, today = d.settings.tz, today_in(d.clock.now(), d.settings.tz)
    p = card.proposal
    flags = ""
    if p.key:
        flags += t("proposals_filing.card.flag_key", lang, leader=p.key_leader or "")
    if p.excellent:
        flags += t("proposals_filing.card.flag_excellent", lang)
    if p.reworked:
        flags += t("proposals_filing.card.flag_reworked", lang)
    authors = "、".join(
        t("proposals_filing.card.author", lang, name=m.name, consent=t(f"proposals_filing.consent.{c}", lang))
        for m, c in card.authors
    )
    lines = [
        t("proposals_filing.card.head", lang, number=p.number or t("proposals_filing.inbox.unnumbered", lang),
          title=p.title),
        t("proposals_filing.card.state", lang, state=state_label(p.state, lang), flags=flags),
    ]  # fmt: skip
    if card.merged_into:
        lines.append(t("proposals_filing.card.merged_into", lang, number=card.merged_into))
    lines += [
        t("proposals_filing.card.category", lang, category=p.category),
        t("proposals_filing.card.authors", lang, authors=authors),
        t("proposals_filing.card.submitted", lang, at=format_moment(p.submitted_at, tz, lang, today)),
        "",
        t("proposals_filing.card.analysis", lang, text=_excerpt(p.analysis)),
        t("proposals_filing.card.suggestion", lang, text=_excerpt(p.suggestion)),
    ]
    if card.assignments:
        lines += ["", t("proposals_filing.card.units", lang)]
        for a, unit in card.assignments:
            late = t("proposals_filing.card.late", lang) if filing.is_late(a, today) else ""
            lines.append(t("proposals_filing.card.unit", lang, unit=unit.name, role=role_label(a.role, lang),
                           state=t(f"proposals_filing.astate.{a.state}", lang),
                           due=format_day(a.due_on, lang, today), late=late))  # fmt: skip
            if a.state == "objected" and a.objection:
                lines.append(t("proposals_filing.card.objection", lang, text=a.objection))
            if a in card.extensions and a.extension_until is not None:
                lines.append(t("proposals_filing.card.extension", lang, reason=a.extension_reason or "",
                               day=format_day(a.extension_until, lang, today)))  # fmt: skip
    if card.events:
        lines += ["", t("proposals_filing.card.history", lang)]
        for event, name in card.events:
            detail = event.text if event.kind in ("not_filed", "returned", "key", "objected", "converted",
                                                  "merged", "reassigned") else None  # fmt: skip
            if event.kind == "not_filed" and event.reason:
                detail = common.reason_label(event.reason, lang) + (f"：{event.text}" if event.text else "")
            lines.append(t("proposals_filing.card.event", lang, at=format_moment(event.at, tz, lang, today),
                           what=t(f"proposals_filing.event.{event.kind}", lang),
                           who=t("proposals_filing.card.who", lang, name=name) if name else "",
                           text=f"：{detail}" if detail else ""))  # fmt: skip
    return "\n".join(lines)[:4000]


def move_buttons(card: filing.Card, lang: str) -> InlineKeyboardMarkup | None:
    p = card.proposal
    assert p.id is not None
    rows: list[Row] = rows_of([(t(f"proposals_filing.btn.{m}", lang), MOVE(m, p.id)) for m in card.moves], 2)
    units = {a.id: u.name for a, u in card.assignments}
    for a in card.objected:
        assert a.id is not None
        rows.append(
            [(t("proposals_filing.btn.reassign", lang, unit=units[a.id]), UNIT_MOVE("reassign", a.id))]
        )
    for a in card.extensions:
        assert a.id is not None
        rows.append([
            (t("proposals_filing.btn.extend", lang, unit=units[a.id]), UNIT_MOVE("extend", a.id)),
            (t("proposals_filing.btn.no_extend", lang, unit=units[a.id]), UNIT_MOVE("no_extend", a.id)),
        ])  # fmt: skip
    return keyboard(rows) if any(rows) else None


async def show_card(update: Update, context: Context, proposal_id: int, lang: str) -> None:
    async with context.deps.db.session() as session:
        card = await filing.card(session, proposal_id)
    if card is None:
        raise filing.FilingError("no_proposal")
    await reply(update, render(card, lang, context), move_buttons(card, lang))


@staff_only
async def open_card(update: Update, context: Context, member: Member) -> Next:
    """📄 on an inbox line or on a notice to the secretariat: the proposal's card."""
    drop_draft(context, KEY)
    lang, proposal_id = lang_of(member, context), OPEN.read(update).number
    chat, user = update.effective_chat, update.effective_user
    if chat is None or chat.type == chat.PRIVATE or user is None:
        await show_card(update, context, proposal_id, lang)
        return END
    # pressed in the secretariat group: the card (and the moves' questions) go to a private chat
    async with context.deps.db.session() as session:
        card = await filing.card(session, proposal_id)
    if card is None:
        raise filing.FilingError("no_proposal")
    try:
        await context.bot.send_message(
            user.id, render(card, lang, context), reply_markup=move_buttons(card, lang)
        )
    except TelegramError:
        await answer_once(update, t("proposals_filing.inbox.open_private_failed", lang), alert=True)
        return END
    await answer_once(update, t("proposals_filing.inbox.opened_private", lang))
    return END


@staff_only
async def inbox(update: Update, context: Context, member: Member) -> Next:
    """/proposals [view]: a page of the view (待审查 first), with a button per view and per proposal."""
    lang = lang_of(member, context)
    d = context.deps
    view, offset = "review", 0
    if VIEW.pressed(update):
        press = VIEW.read(update)
        view, offset = press.word, press.number
    elif context.args and context.args[0] in filing.VIEWS:
        view = context.args[0]
    drop_draft(context, KEY)  # /proposals leaves a move half-way
    today = today_in(d.clock.now(), d.settings.tz)
    async with d.db.session() as session:
        counts = await filing.view_counts(session, today)
        page, total = await filing.inbox(session, view, today, offset=offset, limit=PAGE)
        dues = await filing.due_of(session, [p.id for p in page if p.id is not None])
        leads = {m.id: m.name for m in await _members(session, [p.lead_id for p in page])}
    views = [(f"{t(f'proposals_filing.view.{v}', lang)} {counts[v]}", VIEW(v, 0)) for v in filing.VIEWS]
    name = t(f"proposals_filing.view.{view}", lang)
    if not page:
        await reply(
            update, t("proposals_filing.inbox.header_empty", lang, view=name), keyboard(rows_of(views, 3))
        )
        return END
    lines = [t("proposals_filing.inbox.header", lang, view=name, total=total, first=offset + 1,
               last=offset + len(page))]  # fmt: skip
    opens: Row = []
    for n, p in enumerate(page, start=offset + 1):
        assert p.id is not None
        due = ""
        if p.id in dues:
            key = "line_late" if dues[p.id] < today else "line_due"
            due = t(f"proposals_filing.inbox.{key}", lang, due=format_day(dues[p.id], lang, today))
        lines.append(f"{n}. " + t("proposals_filing.inbox.line", lang,
                                  number=p.number or t("proposals_filing.inbox.unnumbered", lang), title=p.title,
                                  state=state_label(p.state, lang), lead=leads.get(p.lead_id, ""), due=due))  # fmt: skip
        opens.append((t("proposals_filing.inbox.btn_open", lang, n=n), OPEN(p.id)))
    rows = rows_of(opens, 5) + rows_of(views, 3)
    if offset + PAGE < total:
        rows.append([(t("proposals_filing.inbox.btn_more", lang), VIEW(view, offset + PAGE))])
    await reply(update, "\n\n".join(lines), keyboard(rows))
    return END


async def _members(session: AsyncSession, ids: list[int]) -> list[Member]:
    return list((await session.exec(select(Member).where(col(Member.id).in_(ids)))).all())
