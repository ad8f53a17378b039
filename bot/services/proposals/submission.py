"""提案 — the members' part: submitting (提), co-proposers (联名), resubmitting after 退回修改,
the member's view of their proposals, and rating the answer (评).

A proposal with invited co-proposers waits in COSIGNING until all have answered or until
`cosign_until` (settings.proposal_cosign_hours after submission; `close_due_cosigning` is the
sweep, idempotent, run at start-up and periodically); then it is SUBMITTED with those who agreed,
the lead is told who agreed and who did not, and the secretariat is told of the new proposal.

No Telegram here: handlers parse the update and call these with a session and an explicit `now`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from sqlmodel import col, delete, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.buttons import ROW_IDS, Buttons, inline_markup
from bot.core.clock import local, to_db
from bot.core.dates import format_moment
from bot.core.i18n import t
from bot.core.refusals import Refusal
from bot.core.rules import Rules
from bot.services.info import AttachmentIn, _bigrams, _dice
from bot.services.outbox import notify_member
from bot.services.proposals.common import (
    RATE_BUTTON,
    STAFF_OPEN_BUTTON,
    current_round,
    lock,
    record,
    state_label,
    tell_secretariat,
)
from models import (
    Member,
    Proposal,
    ProposalAssignment,
    ProposalAttachment,
    ProposalAuthor,
    ProposalEvent,
    ProposalRating,
)
from models.proposal import (
    AGREED,
    ANSWERED,
    ANSWERING_ROLES,
    COSIGNING,
    DECLINED,
    LEAD,
    PENDING,
    RATINGS,
    RETURNED,
    SUBMITTED,
    UNSATISFIED,
)

TITLE_MIN, TITLE_MAX = 5, 60
PART_MIN = 10  # 情况分析 and 具体建议 each
TEXT_MAX = 3000  # 情况分析 + 具体建议 together
COMMENT_MAX = 500
MAX_ATTACHMENTS = 10
MAX_COPROPOSERS = 10
SIMILAR_SHOWN = 3
SIMILAR_THRESHOLD = 0.5  # Dice of the titles' character bigrams
CARD_LIMIT = 4000

# The co-proposer's card (proposal id): 同意联名 / 不同意.
COSIGN = Buttons("pcos")
COSIGN_YES = COSIGN("yes", numbers=ROW_IDS)
COSIGN_NO = COSIGN("no", numbers=ROW_IDS)


class SubmitError(Refusal):
    """A refusal with a catalogue key `proposals_submit.err.<code>`."""

    prefix = "proposals_submit.err."
    FINAL = frozenset({"no_proposal", "not_yours", "not_returned", "rated", "cannot_rate", "no_member"})
    HAND_BACK = frozenset({"title_long", "text_long", "comment_long"})
    # refused on the summary card (e.g. the rules' categories changed meanwhile): the step to ask
    FIELDS = {"title_short": "title", "title_long": "title", "category": "category"}


class AlreadySubmitted(Exception):
    """The same chat draft was submitted before (a redelivered press)."""

    def __init__(self, proposal_id: int) -> None:
        super().__init__(proposal_id)
        self.proposal_id = proposal_id


# --------------------------------------------------------------------------- checks of input


def check_title(text: str) -> str:
    title = " ".join(text.split())
    if len(title) < TITLE_MIN:
        raise SubmitError("title_short", length=len(title), min=TITLE_MIN)
    if len(title) > TITLE_MAX:
        raise SubmitError("title_long", length=len(title), max=TITLE_MAX)
    return title


def check_part(text: str, other: str = "") -> str:
    """情况分析 or 具体建议 (`other` is the other one: together at most TEXT_MAX)."""
    part = text.strip()
    if len(part) < PART_MIN:
        raise SubmitError("text_short", length=len(part), min=PART_MIN)
    if len(part) + len(other) > TEXT_MAX:
        raise SubmitError("text_long", length=len(part) + len(other), max=TEXT_MAX)
    return part


def check_category(category: str, rules: Rules) -> str:
    if category not in rules.proposal.categories:
        raise SubmitError("category")
    return category


def check_comment(text: str) -> str:
    comment = text.strip()
    if len(comment) > COMMENT_MAX:
        raise SubmitError("comment_long", length=len(comment), max=COMMENT_MAX)
    return comment


# --------------------------------------------------------------------------- similar proposals


@dataclass(frozen=True)
class Similar:
    proposal_id: int
    title: str
    number: str | None
    state: str
    answer_category: str | None  # of an answered proposal (its main / separate answer)


def _closest(title: str, rows: list[tuple[int, str]]) -> list[tuple[float, int]]:
    wanted = _bigrams(title)
    scored = [(_dice(wanted, _bigrams(other)), pid) for pid, other in rows]
    return sorted((s for s in scored if s[0] >= SIMILAR_THRESHOLD), reverse=True)[:SIMILAR_SHOWN]


async def similar(
    session: AsyncSession, title: str, *, now: datetime, tz: tzinfo, exclude_id: int | None = None
) -> list[Similar]:
    """Up to 3 proposals of this and last year whose 案由 is like `title` (一事一案 is a hint)."""
    year = local(now, tz).year
    query = select(Proposal.id, Proposal.title).where(col(Proposal.year).in_((year, year - 1)))
    rows = [(pid, text) for pid, text in (await session.exec(query)).all() if pid is not None and pid != exclude_id]
    best = await asyncio.to_thread(_closest, title, rows)
    if not best:
        return []
    ids = [pid for _score, pid in best]
    found = {p.id: p for p in (await session.exec(select(Proposal).where(col(Proposal.id).in_(ids)))).all()}
    answers: dict[int, str] = {}
    query_a = select(ProposalAssignment.proposal_id, ProposalAssignment.answer_category).where(
        col(ProposalAssignment.proposal_id).in_(ids),
        col(ProposalAssignment.role).in_(ANSWERING_ROLES),
        col(ProposalAssignment.answer_category).is_not(None),
    )
    for pid, category in (await session.exec(query_a.order_by(col(ProposalAssignment.id)))).all():
        if category:
            answers[pid] = category
    return [
        Similar(pid, found[pid].title, found[pid].number, found[pid].state,
                answers.get(pid) if found[pid].state == ANSWERED else None)
        for pid in ids
        if pid in found
    ]  # fmt: skip


# --------------------------------------------------------------------------- submission


async def proposal_of_draft(session: AsyncSession, draft_key: str | None) -> int | None:
    """The id of the proposal submitted from the chat draft `draft_key`, if it was."""
    if draft_key is None:
        return None
    return (await session.exec(select(Proposal.id).where(col(Proposal.draft_key) == draft_key))).first()


async def _valid_coproposers(session: AsyncSession, lead_id: int, ids: list[int]) -> list[int]:
    wanted = [i for i in dict.fromkeys(ids) if i != lead_id][:MAX_COPROPOSERS]
    if not wanted:
        return []
    query = select(Member.id).where(col(Member.id).in_(wanted), Member.is_active_member)
    found = set((await session.exec(query)).all())
    return [i for i in wanted if i in found]


async def _set_attachments(session: AsyncSession, proposal: Proposal, attachments: list[AttachmentIn]) -> None:
    assert proposal.id is not None
    await session.exec(
        delete(ProposalAttachment).where(
            col(ProposalAttachment.proposal_id) == proposal.id, col(ProposalAttachment.assignment_id).is_(None)
        )
    )
    for att in attachments[:MAX_ATTACHMENTS]:
        session.add(ProposalAttachment(proposal_id=proposal.id, **att.stored()))
    await session.flush()


def _names(members: list[Member], lang: str) -> str:
    if not members:
        return t("proposals_submit.none", lang)
    return ("、" if lang == "zh" else ", ").join(m.name for m in members)


async def _members(session: AsyncSession, ids: list[int]) -> list[Member]:
    if not ids:
        return []
    rows = {m.id: m for m in (await session.exec(select(Member).where(col(Member.id).in_(ids)))).all()}
    return [rows[i] for i in ids if i in rows]


async def submit(
    session: AsyncSession,
    *,
    lead_id: int,
    title: str,
    category: str,
    analysis: str,
    suggestion: str,
    now: datetime,
    tz: tzinfo,
    rules: Rules,
    cosign_hours: int,
    attachments: list[AttachmentIn] | None = None,
    coproposer_ids: list[int] | None = None,
    default_lang: str = "zh",
    staff_chat_id: int | None = None,
    draft_key: str | None = None,
) -> Proposal:
    """A new proposal of the local year. With co-proposers it waits for them (COSIGNING, each gets
    a card with 同意联名 / 不同意); without, it goes to the secretariat (SUBMITTED).
    Raises AlreadySubmitted when `draft_key` was submitted before."""
    title, category = check_title(title), check_category(category, rules)
    analysis = check_part(analysis)
    suggestion = check_part(suggestion, analysis)
    if (existing := await proposal_of_draft(session, draft_key)) is not None:
        raise AlreadySubmitted(existing)
    lead = await session.get(Member, lead_id)
    if lead is None or not lead.is_active_member:
        raise SubmitError("no_member")
    others = await _valid_coproposers(session, lead_id, coproposer_ids or [])
    proposal = Proposal(
        year=local(now, tz).year,
        lead_id=lead_id,
        title=title,
        category=category,
        analysis=analysis,
        suggestion=suggestion,
        state=COSIGNING if others else SUBMITTED,
        draft_key=draft_key,
        submitted_at=to_db(now),
        cosign_until=to_db(now + timedelta(hours=cosign_hours)) if others else None,
        updated_at=to_db(now),
    )
    session.add(proposal)
    await session.flush()
    assert proposal.id is not None
    session.add(ProposalAuthor(proposal_id=proposal.id, member_id=lead_id, position=0, consent=LEAD,
                               answered_at=to_db(now)))  # fmt: skip
    for position, member_id in enumerate(others, start=1):
        session.add(ProposalAuthor(proposal_id=proposal.id, member_id=member_id, position=position, consent=PENDING))
    await _set_attachments(session, proposal, attachments or [])
    event = await record(session, proposal, "submitted", actor_id=lead_id, now=now)
    if not others:
        await _tell_staff_new(session, proposal, event, [lead], now=now, lang=default_lang, chat_id=staff_chat_id)
        return proposal
    for member in await _members(session, others):
        lang = member.language or default_lang
        markup = inline_markup([[(t("proposals_submit.btn_cosign_yes", lang), COSIGN_YES(proposal.id)),
                                 (t("proposals_submit.btn_cosign_no", lang), COSIGN_NO(proposal.id))]])  # fmt: skip
        await notify_member(
            session,
            member,
            "proposals_submit.cosign_card",
            dedupe_key=f"proposal:{proposal.id}:cosign:{member.id}",
            now=now,
            default_lang=default_lang,
            kind="proposal",
            reply_markup=markup,
            lead=lead.name,
            title=title,
            category=category,
            analysis=_cut(analysis, 1200),
            suggestion=_cut(suggestion, 1200),
            until=format_moment(now + timedelta(hours=cosign_hours), tz, lang),
        )
    return proposal


async def _tell_staff_new(
    session: AsyncSession,
    proposal: Proposal,
    event: ProposalEvent,
    authors: list[Member],
    *,
    now: datetime,
    lang: str,
    chat_id: int | None,
    key: str = "proposals_submit.staff_new",
) -> None:
    assert proposal.id is not None
    markup = inline_markup([[(t("proposals_submit.btn_staff_open", lang), STAFF_OPEN_BUTTON(proposal.id))]])
    await tell_secretariat(session, proposal, event, key, chat_id=chat_id, now=now, lang=lang,
                           reply_markup=markup, authors=_names(authors, lang),
                           category=proposal.category)  # fmt: skip


async def _authors(session: AsyncSession, proposal_id: int) -> list[ProposalAuthor]:
    query = select(ProposalAuthor).where(col(ProposalAuthor.proposal_id) == proposal_id)
    return list((await session.exec(query.order_by(col(ProposalAuthor.position)))).all())


async def _close_cosigning(
    session: AsyncSession, proposal: Proposal, *, now: datetime, default_lang: str, staff_chat_id: int | None,
    timed_out: bool,
) -> None:
    """COSIGNING → SUBMITTED with those who agreed; the lead hears who agreed and who did not, the
    secretariat of the new proposal."""
    assert proposal.id is not None
    authors = await _authors(session, proposal.id)
    by_id = {m.id: m for m in await _members(session, [a.member_id for a in authors])}
    agreed = [by_id[a.member_id] for a in authors if a.consent == AGREED and a.member_id in by_id]
    declined = [by_id[a.member_id] for a in authors if a.consent == DECLINED and a.member_id in by_id]
    silent = [by_id[a.member_id] for a in authors if a.consent == PENDING and a.member_id in by_id]
    proposal.state = SUBMITTED
    session.add(proposal)
    text = "timeout" if timed_out else "all_answered"
    event = await record(session, proposal, "cosign_closed", actor_id=None, now=now, text=text)
    lead = by_id.get(proposal.lead_id)
    if lead is not None:
        lang = lead.language or default_lang
        await notify_member(
            session,
            lead,
            "proposals_submit.cosign_result",
            dedupe_key=f"proposal:{proposal.id}:event:{event.id}:{lead.id}",
            now=now,
            default_lang=default_lang,
            kind="proposal",
            title=proposal.title,
            agreed=_names(agreed, lang),
            declined=_names(declined, lang),
            silent=_names(silent, lang),
        )
    lead_list = [lead] if lead is not None else []
    await _tell_staff_new(session, proposal, event, lead_list + agreed, now=now, lang=default_lang,
                          chat_id=staff_chat_id)  # fmt: skip


async def answer_cosign(
    session: AsyncSession,
    *,
    proposal_id: int,
    member: Member,
    agree: bool,
    now: datetime,
    default_lang: str = "zh",
    staff_chat_id: int | None = None,
) -> Proposal:
    """A co-proposer's 同意联名 / 不同意; the last answer (or the sweep) sends the proposal on."""
    proposal = await lock(session, proposal_id)
    assert proposal.id is not None
    row = next((a for a in await _authors(session, proposal.id) if a.member_id == member.id), None)
    if row is None or row.consent == LEAD:
        raise SubmitError("not_invited")
    if row.consent != PENDING:
        raise SubmitError("cosign_answered")
    if proposal.state != COSIGNING:
        raise SubmitError("cosign_closed")
    row.consent = AGREED if agree else DECLINED
    row.answered_at = to_db(now)
    session.add(row)
    await record(session, proposal, "cosign_agreed" if agree else "cosign_declined", actor_id=member.id, now=now)
    if all(a.consent != PENDING for a in await _authors(session, proposal.id)):
        await _close_cosigning(session, proposal, now=now, default_lang=default_lang, staff_chat_id=staff_chat_id,
                               timed_out=False)  # fmt: skip
    return proposal


async def close_due_cosigning(
    session: AsyncSession, *, now: datetime, default_lang: str = "zh", staff_chat_id: int | None = None
) -> int:
    """The sweep: every proposal whose co-signing time is over goes on with those who agreed.
    Idempotent (a proposal already sent on is not COSIGNING any more). Returns how many."""
    query = select(Proposal.id).where(col(Proposal.state) == COSIGNING, col(Proposal.cosign_until) <= to_db(now))
    done = 0
    for proposal_id in (await session.exec(query.order_by(col(Proposal.id)))).all():
        assert proposal_id is not None
        proposal = await lock(session, proposal_id)
        if proposal.state != COSIGNING:
            continue
        await _close_cosigning(session, proposal, now=now, default_lang=default_lang, staff_chat_id=staff_chat_id,
                               timed_out=True)  # fmt: skip
        done += 1
    return done


async def resubmit(
    session: AsyncSession,
    *,
    proposal_id: int,
    actor: Member,
    title: str,
    category: str,
    analysis: str,
    suggestion: str,
    now: datetime,
    rules: Rules,
    attachments: list[AttachmentIn] | None = None,
    default_lang: str = "zh",
    staff_chat_id: int | None = None,
) -> Proposal:
    """RETURNED → SUBMITTED by the lead, revised; the text before is kept in the history row, the
    co-proposers who agreed are told, the secretariat too."""
    title, category = check_title(title), check_category(category, rules)
    analysis = check_part(analysis)
    suggestion = check_part(suggestion, analysis)
    proposal = await lock(session, proposal_id)
    if proposal.lead_id != actor.id:
        raise SubmitError("not_yours")
    if proposal.state != RETURNED:
        raise SubmitError("not_returned")
    before = "\n\n".join([proposal.title, proposal.analysis, proposal.suggestion])
    proposal.title, proposal.category = title, category
    proposal.analysis, proposal.suggestion, proposal.state = analysis, suggestion, SUBMITTED
    session.add(proposal)
    if attachments is not None:
        await _set_attachments(session, proposal, attachments)
    event = await record(session, proposal, "resubmitted", actor_id=actor.id, now=now, text=before)
    assert proposal.id is not None
    authors = [a for a in await _authors(session, proposal.id) if a.consent in (LEAD, AGREED)]
    members = await _members(session, [a.member_id for a in authors])
    for member in members:
        if member.id == actor.id:
            continue
        await notify_member(session, member, "proposals_submit.notice_resubmitted",
                            dedupe_key=f"proposal:{proposal.id}:event:{event.id}:{member.id}", now=now,
                            default_lang=default_lang, kind="proposal", title=title, lead=actor.name)  # fmt: skip
    await _tell_staff_new(session, proposal, event, members, now=now, lang=default_lang, chat_id=staff_chat_id,
                          key="proposals_submit.staff_resubmitted")  # fmt: skip
    return proposal


# --------------------------------------------------------------------------- rating (评)



async def rating_of(session: AsyncSession, proposal_id: int, member_id: int, round_: int) -> ProposalRating | None:
    query = select(ProposalRating).where(
        col(ProposalRating.proposal_id) == proposal_id,
        col(ProposalRating.member_id) == member_id,
        col(ProposalRating.round) == round_,
    )
    return (await session.exec(query)).first()


async def may_rate(session: AsyncSession, proposal: Proposal, member_id: int) -> bool:
    """Whether the member is a proposer (lead or agreed) of an answered proposal, not yet rated
    in the current round."""
    assert proposal.id is not None
    if proposal.state != ANSWERED:
        return False
    row = next((a for a in await _authors(session, proposal.id) if a.member_id == member_id), None)
    if row is None or row.consent not in (LEAD, AGREED):
        return False
    return await rating_of(session, proposal.id, member_id, await current_round(session, proposal.id)) is None


async def check_may_rate(session: AsyncSession, proposal_id: int, member_id: int) -> Proposal:
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None:
        raise SubmitError("no_proposal")
    row = next((a for a in await _authors(session, proposal_id) if a.member_id == member_id), None)
    if row is None or row.consent not in (LEAD, AGREED):
        raise SubmitError("not_yours")
    if not await may_rate(session, proposal, member_id):
        raise SubmitError("rated" if proposal.state == ANSWERED else "cannot_rate")
    return proposal


async def rate(
    session: AsyncSession,
    *,
    proposal_id: int,
    member: Member,
    attitude: str,
    result: str,
    comment: str | None,
    now: datetime,
    default_lang: str = "zh",
    staff_chat_id: int | None = None,
) -> ProposalRating:
    """A proposer's rating of the answer (办理态度, 办理结果, a comment); once per round. A 不满意
    result is told to the secretariat (it may send the proposal back for 重办)."""
    if attitude not in RATINGS or result not in RATINGS:
        raise SubmitError("rating")
    assert member.id is not None
    comment = check_comment(comment) if comment else None
    proposal = await lock(session, proposal_id)
    await check_may_rate(session, proposal_id, member.id)
    round_ = await current_round(session, proposal_id)
    rating = ProposalRating(proposal_id=proposal_id, member_id=member.id, round=round_, attitude=attitude,
                            result=result, comment=comment or None, at=to_db(now))  # fmt: skip
    session.add(rating)
    await session.flush()
    event = await record(session, proposal, "rated", actor_id=member.id, now=now, reason=result,
                         text=f"{attitude}/{result}" + (f"\n{comment}" if comment else ""))  # fmt: skip
    if result == UNSATISFIED:
        markup = inline_markup([[(t("proposals_submit.btn_staff_open", default_lang), STAFF_OPEN_BUTTON(proposal_id))]])
        await tell_secretariat(
            session, proposal, event, "proposals_submit.staff_unsatisfied", chat_id=staff_chat_id, now=now,
            lang=default_lang, reply_markup=markup, member=member.name,
            attitude=t(f"proposals.rating.{attitude}", default_lang),
            comment=comment or t("proposals_submit.none", default_lang),
        )  # fmt: skip
    return rating


def rate_markup(proposal_id: int, lang: str) -> dict:
    """The 评价 button (for an answer notice: the units' part may use it too)."""
    return inline_markup([[(t("proposals_submit.btn_rate", lang), RATE_BUTTON(proposal_id))]])


# --------------------------------------------------------------------------- the member's view


@dataclass
class ProposalView:
    proposal: Proposal
    authors: list[tuple[Member, str]]  # member, consent
    events: list[ProposalEvent]
    attachments: int = 0
    actors: dict[int, str] = field(default_factory=dict)
    may_rate: bool = False


async def member_proposals(session: AsyncSession, member_id: int, limit: int = 10) -> list[ProposalView]:
    """The member's proposals (lead, or co-proposer invited and not declined), newest first, with
    their history."""
    query = (
        select(Proposal)
        .join(ProposalAuthor, col(ProposalAuthor.proposal_id) == Proposal.id)
        .where(col(ProposalAuthor.member_id) == member_id, col(ProposalAuthor.consent) != DECLINED)
        .order_by(col(Proposal.submitted_at).desc(), col(Proposal.id).desc())
        .limit(limit)
    )
    proposals = list((await session.exec(query)).all())
    return [await proposal_view(session, p, member_id) for p in proposals]


async def proposal_view(session: AsyncSession, proposal: Proposal, member_id: int | None = None) -> ProposalView:
    assert proposal.id is not None
    authors = await _authors(session, proposal.id)
    by_id = {m.id: m for m in await _members(session, [a.member_id for a in authors])}
    events = list(
        (
            await session.exec(
                select(ProposalEvent)
                .where(col(ProposalEvent.proposal_id) == proposal.id)
                .order_by(col(ProposalEvent.at), col(ProposalEvent.id))
            )
        ).all()
    )
    files = (
        await session.exec(
            select(func.count()).select_from(ProposalAttachment).where(
                col(ProposalAttachment.proposal_id) == proposal.id, col(ProposalAttachment.assignment_id).is_(None)
            )
        )
    ).one()
    actor_ids = [e.actor_id for e in events if e.actor_id is not None and e.actor_id not in by_id]
    actors = {m.id: m.name for m in await _members(session, list(dict.fromkeys(actor_ids))) if m.id is not None}
    actors.update({i: m.name for i, m in by_id.items() if i is not None})
    return ProposalView(
        proposal=proposal,
        authors=[(by_id[a.member_id], a.consent) for a in authors if a.member_id in by_id],
        events=events,
        attachments=int(files),
        actors=actors,
        may_rate=member_id is not None and await may_rate(session, proposal, member_id),
    )


HISTORY_KINDS = frozenset({
    "submitted", "cosign_agreed", "cosign_declined", "cosign_closed", "resubmitted", "filed", "not_filed",
    "converted", "merged", "returned", "assigned", "signed", "objected", "reassigned", "contacted", "opinion",
    "answered", "extension_requested", "extension_approved", "extension_refused", "key", "nudged", "rated",
    "rework", "excellent", "reminded", "overdue",
})  # fmt: skip
# Steps of the units' and the secretariat's work that the proposers do not see in their history.
HIDDEN_KINDS = frozenset({"objected", "reassigned", "opinion", "extension_requested", "extension_refused",
                          "nudged", "reminded"})  # fmt: skip


def describe_event(event: ProposalEvent, lang: str, tz: tzinfo, actor: str = "", today: date | None = None) -> str:
    when = format_moment(event.at, tz, lang, today)
    kind = event.kind if event.kind in HISTORY_KINDS else "other"
    text = ""
    if event.kind in ("returned", "not_filed", "rework", "key") and event.text:
        text = event.text
    if event.kind == "not_filed" and event.reason:
        text = t(f"proposals.reason.{event.reason}", lang) + (f"（{event.text}）" if event.text else "")
    if event.kind == "rated" and event.text:
        attitude, _, rest = event.text.partition("/")
        result = rest.split("\n", 1)[0]
        if attitude in RATINGS and result in RATINGS:
            text = t("proposals_submit.rated_gist", lang, attitude=t(f"proposals.rating.{attitude}", lang),
                     result=t(f"proposals.rating.{result}", lang))  # fmt: skip
    line = t(f"proposals_submit.history.{kind}", lang, actor=actor or "—", kind=event.kind)
    return f"{when} {line}" + (t("proposals_submit.gist", lang, text=_cut(text, 200)) if text else "")


def consent_label(consent: str, lang: str) -> str:
    return t(f"proposals_submit.consent.{consent}", lang)


def render_card(view: ProposalView, lang: str, tz: tzinfo, *, today: date | None = None) -> str:
    """A proposal as a proposer sees it in /myproposals: state, proposers, history."""
    p = view.proposal
    sep = "、" if lang == "zh" else ", "
    authors = sep.join(
        m.name if consent in (LEAD, AGREED) else f"{m.name}（{consent_label(consent, lang)}）"
        for m, consent in view.authors
    )
    lines = [
        t(
            "proposals_submit.card",
            lang,
            title=p.title,
            number=p.number or t("proposals_submit.no_number", lang),
            category=p.category,
            state=state_label(p.state, lang),
            authors=authors,
            submitted=format_moment(p.submitted_at, tz, lang, today),
        )
    ]
    if view.attachments:
        lines.append(t("proposals_submit.card_files", lang, count=view.attachments))
    shown = [e for e in view.events if e.kind not in HIDDEN_KINDS]
    if shown:
        lines.append(t("proposals_submit.card_history", lang))
        steps = ["· " + describe_event(e, lang, tz, view.actors.get(e.actor_id or 0, ""), today) for e in shown]
        while steps and len("\n".join(lines + steps)) > CARD_LIMIT:
            steps.pop(0)  # the newest steps matter most
        lines += steps
    return _cut("\n".join(lines), CARD_LIMIT)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
