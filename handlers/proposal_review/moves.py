"""/proposals: a move on a proposal (a button under its card), checked against the proposal's state
now, then the short follow-up it needs: a ground and words for 不予立案, the proposal to merge into,
a note for 退回修改, the units for 交办 (by button or a few letters of a name), the leader of a 重点
proposal, the unit that takes over after an objection. 立案, 转为社情民意, 督办, 重办, 优秀 and the
extension decisions take effect on the press.

The role is checked on every call (staff_only) and the move again by the service (which reads the
state in the database), so stale and forged buttons change nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update

from bot.core.dates import format_day, today_in
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.services.proposals import filing
from bot.telegram.ui import Context, close_pressed, reply
from handlers.common import lang_of, staff_only, typed_text
from handlers.dialog import END, Next, ask, draft, drop_draft, leaving
from handlers.proposal_review.queue import KEY, MOVE, UNIT_MOVE, show_card
from handlers.proposal_review.states import (
    CONFIRM,
    LEADER,
    MAIN_UNIT,
    MERGE,
    MODE,
    MODE_BUTTON,
    MORE_UNITS,
    NOTE,
    REASON,
    REASON_BUTTON,
    REASON_TEXT,
    REASSIGN,
    TARGET_BUTTON,
    UNIT_BUTTON,
    chosen_units,
)
from models import HandlingUnit, Member, Proposal, ProposalAssignment
from models.proposal import ASSIST, MAIN, SEPARATE

log = logging.getLogger(__name__)

# The first follow-up of a move; moves not named here take effect on the press.
FIRST_STEP = {"not_file": REASON, "merge": MERGE, "return": NOTE, "assign": MODE, "key": LEADER}


# --------------------------------------------------------------------------- starting a move


async def _proposal(context: Context, proposal_id: int) -> Proposal:
    async with context.deps.db.session() as session:
        proposal = await session.get(Proposal, proposal_id)
    if proposal is None:
        raise filing.FilingError("no_proposal")
    return proposal


@staff_only
async def move_start(update: Update, context: Context, member: Member) -> Next:
    """A move button under a card."""
    press = MOVE.read(update)
    move, proposal_id = press.word, press.number
    proposal = await _proposal(context, proposal_id)
    if proposal.state not in filing.MOVES[move].sources:
        raise filing.FilingError(f"illegal_{move}", number=proposal.number or "", title=proposal.title)
    drop_draft(context, KEY)
    draft(context, KEY).update(proposal=proposal_id, move=move, number=proposal.number or "", title=proposal.title,
                               units=[])  # fmt: skip
    if move not in FIRST_STEP:
        return await _apply(update, context, member)
    return await ask(update, context, FIRST_STEP[move], lang_of(member, context))


@staff_only
async def unit_move_start(update: Update, context: Context, member: Member) -> Next:
    """改派 / 同意延期 / 不同意延期 under a card (they name the unit's assignment)."""
    press = UNIT_MOVE.read(update)
    async with context.deps.db.session() as session:
        assignment = await session.get(ProposalAssignment, press.number)
        if assignment is None:
            raise filing.FilingError("no_assignment")
        unit = await session.get(HandlingUnit, assignment.unit_id)
    proposal = await _proposal(context, assignment.proposal_id)
    drop_draft(context, KEY)
    draft(context, KEY).update(proposal=proposal.id, move=press.word, assignment=assignment.id, units=[],
                               number=proposal.number or "", title=proposal.title,
                               unit=unit.name if unit else "", objection=assignment.objection or "")  # fmt: skip
    if press.word == "reassign":
        return await ask(update, context, REASSIGN, lang_of(member, context))
    return await _apply(update, context, member)


# --------------------------------------------------------------------------- follow-ups


@staff_only
async def got_reason(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["reason"] = REASON_BUTTON.read(update).word
    return await ask(update, context, REASON_TEXT, lang_of(member, context))


@staff_only
async def got_reason_text(update: Update, context: Context, member: Member) -> Next:
    p = draft(context, KEY)
    if update.callback_query is not None:  # 跳过
        if p.get("reason") == "other":
            raise AskAgain("proposals_filing.err.reason_text_missing")
        p["text"] = ""
    else:
        p["text"] = typed_text(update)
    return await _apply(update, context, member)


@staff_only
async def got_target(update: Update, context: Context, member: Member) -> Next:
    """The proposal to merge into: a button, or its number typed."""
    p = draft(context, KEY)
    if update.callback_query is not None:
        p["into"] = TARGET_BUTTON.read(update).number
    else:
        async with context.deps.db.session() as session:
            found = await filing.find_filed(session, typed_text(update))
        if found is None:
            raise filing.FilingError("merge_target")
        p["into"] = found.id
    return await _apply(update, context, member)


@staff_only
async def got_note(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["text"] = typed_text(update)
    return await _apply(update, context, member)


@staff_only
async def got_leader(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["text"] = typed_text(update)
    return await _apply(update, context, member)


@staff_only
async def got_mode(update: Update, context: Context, member: Member) -> Next:
    p = draft(context, KEY)
    p["mode"], p["units"], p["search"] = MODE_BUTTON.read(update).word, [], ""
    return await ask(
        update, context, MAIN_UNIT if p["mode"] == "main" else MORE_UNITS, lang_of(member, context)
    )


def search_step(state: str) -> Any:
    """A few letters of a unit's name typed at `state`: the same step shows the units that match."""

    @staff_only
    async def searched(update: Update, context: Context, member: Member) -> Next:
        draft(context, KEY)["search"] = typed_text(update)[:30]
        return await ask(update, context, state, lang_of(member, context))

    return searched


async def _unit_name(context: Context, unit_id: int) -> str:
    async with context.deps.db.session() as session:
        unit = await session.get(HandlingUnit, unit_id)
    if unit is None or not unit.active:
        raise filing.FilingError("no_unit")
    return unit.name


@staff_only
async def got_main(update: Update, context: Context, member: Member) -> Next:
    p = draft(context, KEY)
    unit_id = UNIT_BUTTON.read(update).number
    p["units"] = [[unit_id, MAIN, await _unit_name(context, unit_id)]]
    p["search"] = ""
    return await ask(update, context, MORE_UNITS, lang_of(member, context))


@staff_only
async def got_more(update: Update, context: Context, member: Member) -> Next:
    """A 协办 (or 分办) unit pressed: chosen, or unchosen when pressed again."""
    p = draft(context, KEY)
    unit_id = UNIT_BUTTON.read(update).number
    role = SEPARATE if p.get("mode") == "separate" else ASSIST
    chosen = chosen_units(context)
    if any(u == unit_id and r == MAIN for u, r, _n in chosen):
        raise filing.FilingError("unit_taken")
    if any(u == unit_id for u, _r, _n in chosen):
        p["units"] = [[u, r, n] for u, r, n in chosen if u != unit_id]
    else:
        p["units"] = [[u, r, n] for u, r, n in chosen] + [[unit_id, role, await _unit_name(context, unit_id)]]
    return await ask(update, context, MORE_UNITS, lang_of(member, context))


@staff_only
async def units_done(update: Update, context: Context, member: Member) -> Next:
    chosen = chosen_units(context)
    if draft(context, KEY).get("mode") == "separate" and len(chosen) < 2:
        raise filing.FilingError("assign_separate_few")
    return await ask(update, context, CONFIRM, lang_of(member, context))


@staff_only
async def confirmed(update: Update, context: Context, member: Member) -> Next:
    return await _apply(update, context, member)


@staff_only
async def got_new_unit(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["new_unit"] = UNIT_BUTTON.read(update).number
    return await _apply(update, context, member)


# --------------------------------------------------------------------------- the move itself


async def _run(context: Context, member: Member, p: dict[str, Any]) -> dict[str, Any]:
    """The service call of the pending move; returns the words of its "done" message."""
    d = context.deps
    move, proposal_id = p["move"], int(p["proposal"])
    kw: dict[str, Any] = {"actor": member, "now": d.clock.now(), "settings": d.settings}
    lang = member.language or d.settings.locale
    async with d.db.session() as session:
        if move == "file":
            return {"number": (await filing.file(session, proposal_id, **kw)).number}
        if move == "not_file":
            await filing.not_file(session, proposal_id, reason=p.get("reason", ""), text=p.get("text"), **kw)
        elif move == "convert":
            _row, number = await filing.convert(session, proposal_id, rules=d.rules, **kw)
            return {"info_number": number}
        elif move == "merge":
            await filing.merge(session, proposal_id, into_id=int(p["into"]), **kw)
            into = await session.get(Proposal, int(p["into"]))
            return {"into": into.number if into else ""}
        elif move == "return":
            await filing.return_(session, proposal_id, note=p.get("text", ""), **kw)
        elif move == "assign":
            chosen = chosen_units(context)
            main = next((u for u, r, _n in chosen if r == MAIN), None)
            await filing.assign(session, proposal_id, main_id=main, assist_ids=[u for u, r, _n in chosen if r == ASSIST],
                                separate_ids=[u for u, r, _n in chosen if r == SEPARATE], **kw)  # fmt: skip
        elif move == "reassign":
            row = await filing.reassign(session, proposal_id, assignment_id=int(p["assignment"]),
                                        unit_id=int(p["new_unit"]), **kw)  # fmt: skip
            unit = await session.get(HandlingUnit, row.unit_id)
            return {"unit": unit.name if unit else ""}
        elif move == "key":
            proposal = await filing.mark_key(session, proposal_id, leader=p.get("text", ""), **kw)
            return {"leader": proposal.key_leader or ""}
        elif move == "nudge":
            return {"count": await filing.nudge(session, proposal_id, **kw)}
        elif move in ("extend", "no_extend"):
            row = await filing.decide_extension(session, proposal_id, assignment_id=int(p["assignment"]),
                                                approve=move == "extend", **kw)  # fmt: skip
            return {"day": format_day(row.due_on, lang, today_in(d.clock.now(), d.settings.tz))}
        elif move == "rework":
            await filing.rework(session, proposal_id, **kw)
        elif move == "excellent":
            await filing.mark_excellent(session, proposal_id, **kw)
        else:
            raise filing.FilingError("illegal")
    return {}


async def _apply(update: Update, context: Context, member: Member) -> Next:
    """The move, checked by the service; a refused value asks its step again (Dialog.refused)."""
    lang = lang_of(member, context)
    p = dict(draft(context, KEY))
    words = await _run(context, member, p)
    log.info("secretariat %s: %s on proposal %s", member.id, p["move"], p["proposal"])
    drop_draft(context, KEY)
    await close_pressed(update)
    await reply(update, t(f"proposals_filing.done.{p['move']}", lang, **words))
    await show_card(update, context, int(p["proposal"]), lang)
    return END


abort = leaving(KEY, "proposals_filing.done.aborted", staff_only)  # 取消 or /cancel: nothing changes
