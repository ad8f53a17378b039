"""The /proposal dialog as a paper (handlers.paper): its spec and what is its own, the similar
proposals shown after the 案由, the returned proposal loaded for revising (its co-proposers stay
those who agreed), the summary card with 情况分析 and 具体建议, and submitting (the co-signing
text when co-proposers are asked)."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import col, select
from telegram import Update

from bot.core.dates import format_moment
from bot.core.i18n import t
from bot.services import info
from bot.services.proposals import submission as service
from bot.services.proposals.common import state_label
from bot.telegram.ui import Buttons, Context, reply
from handlers.common import lang_of
from handlers.paper import CATEGORY, TITLE, Draft, Paper, People, Revision, Texts, Title, stored_file
from models import Member, Proposal, ProposalAttachment

log = logging.getLogger(__name__)

KEY = "proposal"
ANALYSIS, SUGGESTION, COPROPOSERS = "analysis", "suggestion", "coproposers"
TEXTS = (ANALYSIS, SUGGESTION)  # collected over several messages
BUTTONS = Buttons("prop")


async def _similar(update: Update, context: Context, data: Draft, lang: str) -> None:
    """After the 案由: proposals of this and last year like it (一事一案 is a hint, never a refusal)."""
    d = context.deps
    async with d.db.session() as session:
        like = await service.similar(session, data["title"], now=d.clock.now(), tz=d.settings.tz,
                                     exclude_id=data.get("resubmit"))  # fmt: skip
    if like:
        lines = []
        for one in like:
            state = state_label(one.state, lang)
            if one.answer_category:
                state += t("proposals_submit.similar_answer", lang, category=one.answer_category)
            lines.append(t("proposals_submit.similar_line", lang, title=one.title, state=state,
                           number=one.number or t("proposals_submit.no_number", lang)))  # fmt: skip
        await reply(update, t("proposals_submit.similar_header", lang) + "\n" + "\n".join(lines))


async def _returned(update: Update, context: Context, member: Member, proposal_id: int) -> Revision:
    """The returned proposal behind the button under it in /myproposals, if the member leads it."""
    lang = lang_of(member, context)
    async with context.deps.db.session() as session:
        proposal = await session.get(Proposal, proposal_id)
        if proposal is None or proposal.lead_id != member.id:
            raise service.SubmitError("not_yours")
        if proposal.state != "returned":
            raise service.SubmitError("not_returned")
        view = await service.proposal_view(session, proposal)
        files = (await session.exec(select(ProposalAttachment).where(
            col(ProposalAttachment.proposal_id) == proposal_id, col(ProposalAttachment.assignment_id).is_(None)
        ).order_by(col(ProposalAttachment.id)))).all()  # fmt: skip
    fields = {
        "title": proposal.title,
        "category": proposal.category,
        "analysis": proposal.analysis,
        "suggestion": proposal.suggestion,
        "attachments": [stored_file(f) for f in files],
        "coproposers": [[m.id, m.name] for m, consent in view.authors if consent == "agreed"],
    }
    note = next((e.text for e in reversed(view.events) if e.kind == "returned"), "") or ""
    return fields, t("proposals_submit.revise_intro", lang, title=proposal.title, note=note)


async def _card(update: Update, context: Context, data: Draft, lang: str) -> None:
    """The proposal as it will be submitted: the facts, then 情况分析 and 具体建议."""
    text = t("proposals_submit.summary", lang, title=data["title"], category=data["category"],
             files=len(data["attachments"]), coproposers=PAPER.names(data, lang))  # fmt: skip
    await reply(update, text)
    await reply(update, t("proposals_submit.summary_analysis", lang) + "\n" + data["analysis"])
    await reply(update, t("proposals_submit.summary_suggestion", lang) + "\n" + data["suggestion"])


async def _submit(update: Update, context: Context, member: Member, data: Draft, lang: str) -> str:
    assert member.id is not None
    d = context.deps
    files = [info.AttachmentIn.from_dict(a) for a in data["attachments"]]
    shared: dict[str, Any] = {
        "title": data["title"], "category": data["category"], "analysis": data["analysis"],
        "suggestion": data["suggestion"], "now": d.clock.now(), "rules": d.rules, "attachments": files,
        "default_lang": d.settings.locale, "staff_chat_id": d.settings.secretariat_chat_id,
    }  # fmt: skip
    try:
        async with d.db.session() as session:
            if data.get("resubmit"):
                proposal = await service.resubmit(
                    session, proposal_id=int(data["resubmit"]), actor=member, **shared
                )
            else:
                proposal = await service.submit(
                    session, lead_id=member.id, tz=d.settings.tz, cosign_hours=d.settings.proposal_cosign_hours,
                    coproposer_ids=[cid for cid, _ in data["coproposers"]], draft_key=PAPER.draft_key(update, data),
                    **shared,
                )  # fmt: skip
            state, until = proposal.state, proposal.cosign_until
    except service.AlreadySubmitted as exc:
        async with d.db.session() as session:
            again = await session.get(Proposal, exc.proposal_id)
            assert again is not None
            state, until = again.state, again.cosign_until
    log.info("member %s submitted a proposal", member.id)
    if data.get("resubmit"):
        return t("proposals_submit.resubmitted", lang, title=data["title"])
    if state == "cosigning" and until is not None:
        return t("proposals_submit.submitted_cosigning", lang, title=data["title"], names=PAPER.names(data, lang),
                 until=format_moment(until, d.settings.tz, lang))  # fmt: skip
    return t("proposals_submit.submitted", lang, title=data["title"])


PAPER = Paper(
    name="proposal",
    key=KEY,
    cat="proposals_submit",
    buttons=BUTTONS,
    texts=Texts(TEXTS, BUTTONS("done", words=TEXTS), BUTTONS("clear", words=TEXTS), "text", service.PART_MIN,
                service.TEXT_MAX, check=service.check_part),
    # the co-proposers of a returned proposal stay those who agreed
    people=People(COPROPOSERS, "coproposer", service.MAX_COPROPOSERS,
                  may_join=lambda other: bool(other.is_active_member), on_resubmit=False),
    title=Title(service.TITLE_MIN, service.TITLE_MAX, service.check_title),
    categories=lambda rules: rules.proposal.categories, check_category=service.check_category, category_columns=2,
    max_files=service.MAX_ATTACHMENTS, captions=False,
    fields={"title": TITLE, "category": CATEGORY},
    draft_prefix="p:", stored_draft=service.proposal_of_draft,
    load_returned=_returned, card=_card, submit=_submit, titled=_similar,
)  # fmt: skip
