"""The /proposal dialog's steps: starting (or going back to the draft in progress), revising a
returned proposal, 案由 with similar proposals shown, category, 情况分析 and 具体建议 in several
messages, files, co-proposers, the summary card."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import col, select
from telegram import Update

from bot.core.dates import format_moment
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.services import info
from bot.services.proposals import submission as service
from bot.services.proposals.common import state_label
from bot.telegram.ui import Context, close_pressed, keyboard, refuse, reply
from handlers import uploads
from handlers.common import lang_of, member_only, typed_text
from handlers.dialog import END, Next
from handlers.proposals.states import (
    ANALYSIS,
    ATTACH,
    ATTACH_DONE,
    CATEGORY,
    CATEGORY_BUTTON,
    CONFIRM,
    COPROPOSER,
    COPROPOSERS,
    COPROPOSERS_DONE,
    EDIT_PART,
    PARTS,
    REVISE,
    SUGGESTION,
    TEXT_CLEAR,
    TEXT_DONE,
    TITLE,
    after,
    draft_key,
    draft_of,
    drop_draft,
    goto,
    names,
    new_draft,
    next_button,
    other_text,
    text_buttons,
)
from models import Member, Proposal, ProposalAttachment

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ entry


@member_only
async def start(update: Update, context: Context, member: Member) -> Next:
    """/proposal or the menu button: a new draft, or back to the step of the one in progress."""
    lang = lang_of(member, context)
    data = draft_of(context)
    if data.get("step") and not data.get("resubmit"):
        async with context.deps.db.session() as session:  # a crash came before its end was saved
            if await service.proposal_of_draft(session, draft_key(update, data)) is not None:
                data = {}
    if data.get("step"):
        await reply(update, t("proposals_submit.resume", lang))
        return await goto(update, context, member, data["step"])
    new_draft(context)
    await reply(update, t("proposals_submit.intro", lang))
    return await goto(update, context, member, TITLE)


@member_only
async def revise(update: Update, context: Context, member: Member) -> Next:
    """The button under a returned proposal in /myproposals: load it into a draft, show the card."""
    lang = lang_of(member, context)
    proposal_id = REVISE.read(update).number
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
    data = draft_of(context)
    if data.get("step") and data.get("resubmit") != proposal_id:
        await refuse(update, t("proposals_submit.draft_open", lang))
        return None
    new_draft(context).update(
        title=proposal.title,
        category=proposal.category,
        analysis=proposal.analysis,
        suggestion=proposal.suggestion,
        resubmit=proposal_id,
        editing=True,
        attachments=[{"kind": f.kind, "file_id": f.file_id, "file_unique_id": f.file_unique_id,
                      "file_name": f.file_name, "mime_type": f.mime_type, "file_size": f.file_size}
                     for f in files],
        coproposers=[[m.id, m.name] for m, consent in view.authors if consent == "agreed"],
    )  # fmt: skip
    note = next((e.text for e in reversed(view.events) if e.kind == "returned"), "") or ""
    await reply(update, t("proposals_submit.revise_intro", lang, title=proposal.title, note=note))
    return await goto(update, context, member, CONFIRM)


# ------------------------------------------------------------------ steps


@member_only
async def got_title(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    data = draft_of(context)
    title = service.check_title(typed_text(update))  # a long one is handed back
    data["title"] = title
    d = context.deps
    async with d.db.session() as session:
        like = await service.similar(session, title, now=d.clock.now(), tz=d.settings.tz,
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
    return await after(update, context, member, CATEGORY)


@member_only
async def got_category(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    cats = context.deps.rules.proposal.categories
    if update.callback_query is not None:
        index = CATEGORY_BUTTON.read(update).number
        if index >= len(cats):
            raise AskAgain("common.stale_button")
        choice = cats[index]
    else:
        choice = service.check_category(typed_text(update), context.deps.rules)
    data = draft_of(context)
    data["category"] = choice
    if data.get("editing"):
        return await goto(update, context, member, CONFIRM)
    await reply(update, t("proposals_submit.category_set", lang, category=choice))
    return await goto(update, context, member, ANALYSIS)


def _text_step(data: dict[str, Any]) -> str:
    step = str(data.get("step"))
    return step if step in (ANALYSIS, SUGGESTION) else ANALYSIS


@member_only
async def text_part(update: Update, context: Context, member: Member) -> Next:
    """A piece of 情况分析 or 具体建议: appended, with the running length shown."""
    lang = lang_of(member, context)
    data = draft_of(context)
    step = _text_step(data)
    part = typed_text(update)
    if not part:
        return None
    joined = f"{data[step]}\n{part}" if data[step] else part
    total = len(joined) + len(other_text(data, step))
    if total > service.TEXT_MAX:
        raise AskAgain("proposals_submit.text_over", hand_back=True, length=total, max=service.TEXT_MAX,
                       current=len(data[step]))  # fmt: skip
    data[step] = joined
    progress = t("proposals_submit.text_progress", lang, length=len(joined), total=total, max=service.TEXT_MAX)
    await reply(update, progress, text_buttons(lang, step))
    return None


@member_only
async def text_done(update: Update, context: Context, member: Member) -> Next:
    data = draft_of(context)
    step = TEXT_DONE.read(update).word
    if step != data.get("step"):
        raise AskAgain("common.stale_button")
    data[step] = service.check_part(data[step], other_text(data, step))
    return await after(update, context, member, SUGGESTION if step == ANALYSIS else ATTACH)


@member_only
async def text_clear(update: Update, context: Context, member: Member) -> Next:
    data = draft_of(context)
    step = TEXT_CLEAR.read(update).word
    if step != data.get("step"):
        raise AskAgain("common.stale_button")
    old = data[step]
    data[step] = ""
    await reply(update, t("proposals_submit.text_cleared", lang_of(member, context)))
    if old:
        await reply(update, old)  # the cleared text, so it can be copied back in parts
    return None


@member_only
async def attachment(update: Update, context: Context, member: Member) -> Next:
    """A photo, PDF or Word file of at most 20 MB, checked by its content (the 社情民意 checks)."""
    msg = update.message
    assert msg is not None
    lang = lang_of(member, context)
    data = draft_of(context)
    if len(data["attachments"]) >= service.MAX_ATTACHMENTS:
        raise AskAgain("proposals_submit.files_max", max=service.MAX_ATTACHMENTS)
    if msg.photo:
        photo = msg.photo[-1]
        info.check_size(photo.file_size)
        entry: dict[str, Any] = {"kind": "photo", "file_id": photo.file_id, "file_unique_id": photo.file_unique_id,
                                 "file_name": None, "mime_type": "image/jpeg", "file_size": photo.file_size}
    elif msg.document:
        doc = msg.document
        info.check_document(doc.file_name, doc.mime_type, doc.file_size)
        entry = {"kind": "document", "file_id": doc.file_id, "file_unique_id": doc.file_unique_id,
                 "file_name": doc.file_name, "mime_type": doc.mime_type, "file_size": doc.file_size}
    else:
        raise info.InfoError("file_kind")  # fmt: skip
    want = uploads.IMAGE if entry["kind"] == "photo" else uploads.DOCUMENT
    if problem := await uploads.problem(context, entry["file_id"], entry["file_size"], want):
        raise AskAgain(problem, max=uploads.MAX_MEGABYTES)
    data["attachments"].append(entry)
    count = len(data["attachments"])
    await reply(update, t("proposals_submit.file_ok", lang, count=count), next_button(lang, ATTACH_DONE()))
    return None


@member_only
async def wrong_file(update: Update, context: Context, member: Member) -> Next:
    raise info.InfoError("file_kind")


@member_only
async def attach_done(update: Update, context: Context, member: Member) -> Next:
    if draft_of(context).get("resubmit"):  # the co-proposers stay those who agreed
        return await goto(update, context, member, CONFIRM)
    return await after(update, context, member, COPROPOSERS)


@member_only
async def coproposer_search(update: Update, context: Context, member: Member) -> Next:
    assert member.id is not None
    lang = lang_of(member, context)
    data = draft_of(context)
    exclude = [member.id] + [cid for cid, _ in data["coproposers"]]
    async with context.deps.db.session() as session:
        found, total = await info.search_members(session, typed_text(update), exclude=exclude)
    if not found:
        raise AskAgain("proposals_submit.coproposer_none")
    rows = [[(f"{m.name}（{m.sector}）" if m.sector else m.name, COPROPOSER(m.id))] for m in found if m.id is not None]
    rows.append([(t("proposals_submit.btn_next", lang), COPROPOSERS_DONE())])
    text = t("proposals_submit.coproposer_found", lang)
    if total > len(found):
        more = t("proposals_submit.coproposer_more", lang, total=total, shown=len(found))
        text = more + "\n" + text
    await reply(update, text, keyboard(rows))
    return None


@member_only
async def coproposer_pick(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    data = draft_of(context)
    picked = COPROPOSER.read(update).number
    async with context.deps.db.session() as session:
        other = await session.get(Member, picked)
    if other is None or not other.is_active_member or other.id == member.id:
        raise AskAgain("common.stale_button")
    if len(data["coproposers"]) >= service.MAX_COPROPOSERS:
        raise AskAgain("proposals_submit.coproposer_max", max=service.MAX_COPROPOSERS)
    if picked not in [cid for cid, _ in data["coproposers"]]:
        data["coproposers"].append([picked, other.name])
    await reply(update, t("proposals_submit.coproposer_added", lang, names=names(data, lang)),
                next_button(lang, COPROPOSERS_DONE()))  # fmt: skip
    return None


@member_only
async def coproposers_done(update: Update, context: Context, member: Member) -> Next:
    return await goto(update, context, member, CONFIRM)


@member_only
async def edit_menu(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    parts = [p for p in PARTS if not (p == "coproposers" and draft_of(context).get("resubmit"))]
    rows = [[(t(f"proposals_submit.edit_{p}", lang), EDIT_PART(p)) for p in parts[i:i + 3]] for i in (0, 3)]
    await reply(update, t("proposals_submit.edit_which", lang), keyboard(rows))
    return None


@member_only
async def edit_part(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    part = EDIT_PART.read(update).word
    data = draft_of(context)
    data["editing"] = True
    if part in (ANALYSIS, SUGGESTION):
        # the old text is shown once more so it can be copied and revised; then it is replaced
        if data[part]:
            await reply(update, t("proposals_submit.text_replace", lang))
            await reply(update, data[part])
        data[part] = ""
        return await goto(update, context, member, part)
    if part == "files":
        data["attachments"] = []
        await reply(update, t("proposals_submit.files_cleared", lang))
        return await goto(update, context, member, ATTACH)
    if part == "coproposers":
        if data.get("resubmit"):
            raise AskAgain("common.stale_button")
        data["coproposers"] = []
        return await goto(update, context, member, COPROPOSERS)
    return await goto(update, context, member, TITLE if part == "title" else CATEGORY)


@member_only
async def submit(update: Update, context: Context, member: Member) -> Next:
    assert member.id is not None
    lang = lang_of(member, context)
    d = context.deps
    data = draft_of(context)
    now = d.clock.now()
    files = [info.AttachmentIn.from_dict(a) for a in data["attachments"]]
    shared: dict[str, Any] = {
        "title": data["title"], "category": data["category"], "analysis": data["analysis"],
        "suggestion": data["suggestion"], "now": now, "rules": d.rules, "attachments": files,
        "default_lang": d.settings.locale, "staff_chat_id": d.settings.secretariat_chat_id,
    }  # fmt: skip
    try:
        async with d.db.session() as session:
            if data.get("resubmit"):
                proposal = await service.resubmit(session, proposal_id=int(data["resubmit"]), actor=member, **shared)
            else:
                proposal = await service.submit(
                    session, lead_id=member.id, tz=d.settings.tz, cosign_hours=d.settings.proposal_cosign_hours,
                    coproposer_ids=[cid for cid, _ in data["coproposers"]], draft_key=draft_key(update, data),
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
        text = t("proposals_submit.resubmitted", lang, title=data["title"])
    elif state == "cosigning" and until is not None:
        text = t("proposals_submit.submitted_cosigning", lang, title=data["title"], names=names(data, lang),
                 until=format_moment(until, d.settings.tz, lang))  # fmt: skip
    else:
        text = t("proposals_submit.submitted", lang, title=data["title"])
    drop_draft(context)
    await close_pressed(update)
    await reply(update, text)
    return END


@member_only
async def cancel(update: Update, context: Context, member: Member) -> Next:
    drop_draft(context)
    await close_pressed(update)
    await reply(update, t("proposals_submit.cancelled", lang_of(member, context)))
    return END
