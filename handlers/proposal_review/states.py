"""/proposals: the steps of a move's follow-up — their names, their buttons and what each asks
(the units for 交办 are found by a few letters of a name, the chosen ones ticked). The steps
themselves are moves.py."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update

from bot.core.dates import format_day, today_in
from bot.core.i18n import t
from bot.services.proposals import filing
from bot.services.proposals.common import reason_label, role_label
from bot.telegram.ui import ROW_IDS, Context, Prompt, Row, keyboard, rows_of
from handlers.dialog import PromptFor, draft
from handlers.proposal_review.queue import BUTTONS, KEY
from models.proposal import ASSIST, MAIN, NOT_FILED_REASONS, SEPARATE

REASON, REASON_TEXT, MERGE, NOTE = "reason", "reason_text", "merge", "note"
MODE, MAIN_UNIT, MORE_UNITS, CONFIRM, LEADER, REASSIGN = (
    "mode",
    "main",
    "more",
    "confirm",
    "leader",
    "reassign",
)

REASON_BUTTON = BUTTONS("why", words=NOT_FILED_REASONS)
MODE_BUTTON = BUTTONS("mode", words=("main", "separate"))
UNIT_BUTTON = BUTTONS("u", numbers=ROW_IDS)
TARGET_BUTTON = BUTTONS("t", numbers=ROW_IDS)
SKIP, DONE, OK, ABORT = BUTTONS("skip"), BUTTONS("done"), BUTTONS("ok"), BUTTONS("x")
UNITS_SHOWN = 8


def _abort_row(lang: str) -> Row:
    return [(t("proposals_filing.btn.abort", lang), ABORT())]


async def _reason_prompt(update: Update, context: Context, lang: str) -> Prompt:
    p = draft(context, KEY)
    buttons = [(reason_label(r, lang), REASON_BUTTON(r)) for r in NOT_FILED_REASONS]
    return t(
        "proposals_filing.ask.reason", lang, number=p.get("number", ""), title=p.get("title", "")
    ), keyboard([[b] for b in buttons] + [_abort_row(lang)])


async def _reason_text_prompt(update: Update, context: Context, lang: str) -> Prompt:
    if draft(context, KEY).get("reason") == "other":
        return t("proposals_filing.ask.reason_text_other", lang), keyboard([_abort_row(lang)])
    return t("proposals_filing.ask.reason_text", lang), keyboard(
        [[(t("proposals_filing.btn.skip", lang), SKIP())], _abort_row(lang)]
    )


async def _merge_prompt(update: Update, context: Context, lang: str) -> Prompt:
    p = draft(context, KEY)
    async with context.deps.db.session() as session:
        targets = await filing.merge_targets(session, int(p["proposal"]))
    rows: list[Row] = []
    for target in targets:
        assert target.id is not None
        label = t("proposals_filing.btn.target", lang, number=target.number or "", title=target.title[:20])
        rows.append([(label, TARGET_BUTTON(target.id))])
    return t("proposals_filing.ask.merge", lang, title=p.get("title", "")), keyboard(
        rows + [_abort_row(lang)]
    )


async def _note_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return t("proposals_filing.ask.note", lang, title=draft(context, KEY).get("title", "")), keyboard(
        [_abort_row(lang)]
    )


async def _mode_prompt(update: Update, context: Context, lang: str) -> Prompt:
    p = draft(context, KEY)
    return t("proposals_filing.ask.mode", lang, number=p.get("number", ""), title=p.get("title", "")), keyboard([
        [(t("proposals_filing.btn.mode_main", lang), MODE_BUTTON("main"))],
        [(t("proposals_filing.btn.mode_separate", lang), MODE_BUTTON("separate"))],
        _abort_row(lang),
    ])  # fmt: skip


async def _unit_rows(context: Context, lang: str, *, done: bool) -> tuple[str, list[Row]]:
    """The units matching what was typed last (all when nothing), chosen ones ticked."""
    p = draft(context, KEY)
    wanted = p.get("search", "")
    async with context.deps.db.session() as session:
        units, total = await filing.active_units(session, wanted, limit=UNITS_SHOWN)
    if total == 0:
        note = t("proposals_filing.ask.units_none", lang, text=wanted) if wanted else t(
            "proposals_filing.ask.no_units", lang)  # fmt: skip
    else:
        note = (
            t("proposals_filing.ask.units_found", lang, total=total, shown=len(units))
            if total > len(units)
            else ""
        )
    chosen = {u for u, _role, _name in chosen_units(context)}
    buttons: Row = []
    for unit in units:
        assert unit.id is not None
        key = "unit_chosen" if unit.id in chosen else "unit"
        buttons.append(
            (t(f"proposals_filing.btn.{key}", lang, name=unit.short_name or unit.name), UNIT_BUTTON(unit.id))
        )
    rows = rows_of(buttons, 2)
    if done:
        rows.append([(t("proposals_filing.btn.done", lang), DONE())])
    rows.append(_abort_row(lang))
    return note, rows


def _names(context: Context, role: str) -> str:
    return "、".join(name for _u, r, name in chosen_units(context) if r == role) or "—"


def chosen_units(context: Context) -> list[tuple[int, str, str]]:
    """The units picked so far: (unit id, role, name)."""
    return [(int(u), str(role), str(name)) for u, role, name in draft(context, KEY).get("units", [])]


async def _main_prompt(update: Update, context: Context, lang: str) -> Prompt:
    note, rows = await _unit_rows(context, lang, done=False)
    return "\n".join(x for x in (t("proposals_filing.ask.main", lang), note) if x), keyboard(rows)


async def _more_prompt(update: Update, context: Context, lang: str) -> Prompt:
    note, rows = await _unit_rows(context, lang, done=True)
    if draft(context, KEY).get("mode") == "separate":
        text = t("proposals_filing.ask.separate", lang, chosen=_names(context, SEPARATE))
    else:
        text = t(
            "proposals_filing.ask.assist", lang, main=_names(context, MAIN), assist=_names(context, ASSIST)
        )
    return "\n".join(x for x in (text, note) if x), keyboard(rows)


async def _confirm_prompt(update: Update, context: Context, lang: str) -> Prompt:
    p, d = draft(context, KEY), context.deps
    today = today_in(d.clock.now(), d.settings.tz)
    due = format_day(today + timedelta(days=d.settings.proposal_answer_days), lang, today)
    units = "\n".join(
        t("proposals_filing.unit_role", lang, unit=name, role=role_label(role, lang))
        for _u, role, name in chosen_units(context)
    )
    text = t("proposals_filing.ask.confirm", lang, number=p.get("number", ""), title=p.get("title", ""), units=units,
             due=due)  # fmt: skip
    return text, keyboard([[(t("proposals_filing.btn.confirm", lang), OK())], _abort_row(lang)])


async def _leader_prompt(update: Update, context: Context, lang: str) -> Prompt:
    p = draft(context, KEY)
    return t(
        "proposals_filing.ask.leader", lang, number=p.get("number", ""), title=p.get("title", "")
    ), keyboard([_abort_row(lang)])


async def _reassign_prompt(update: Update, context: Context, lang: str) -> Prompt:
    p = draft(context, KEY)
    note, rows = await _unit_rows(context, lang, done=False)
    text = t("proposals_filing.ask.reassign", lang, unit=p.get("unit", ""), objection=p.get("objection", ""))
    return "\n".join(x for x in (text, note) if x), keyboard(rows)


PROMPTS: dict[object, PromptFor] = {
    REASON: _reason_prompt,
    REASON_TEXT: _reason_text_prompt,
    MERGE: _merge_prompt,
    NOTE: _note_prompt,
    MODE: _mode_prompt,
    MAIN_UNIT: _main_prompt,
    MORE_UNITS: _more_prompt,
    CONFIRM: _confirm_prompt,
    LEADER: _leader_prompt,
    REASSIGN: _reassign_prompt,
}
