"""`lvzhi proposals export`: the year's 提案汇编 as a workbook — one row per proposal that reached
the secretariat (proposers, category, number, state, units, dates, answer category, ratings), the
history of every step on a second sheet, and the handling units' figures on a third
(bot.services.proposals.figures.unit_figures). Real date cells, autofilter, headers in the
reader's language (Chinese by default), names instead of codes.

The rows are read in a handful of queries for the whole year (proposals, co-proposers,
assignments, latest ratings, reasons), never one query per proposal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.i18n import t
from bot.core.rules import Rules
from bot.services.exports import building, new_book, save
from bot.services.figures import MB, MBT, PR, PRT, run
from bot.services.proposals.common import rating_label, reason_label, state_label
from bot.services.proposals.figures import (
    HU,
    HUT,
    PAS,
    PAST,
    PAU,
    PAUT,
    PE,
    PET,
    PRA,
    PRAT,
    Ratings,
    in_year,
    latest_ratings,
    unit_figures,
)
from bot.services.sheets import Column, Sheet, When
from models.proposal import (
    A_WITHDRAWN,
    AGREED,
    ANSWERING_ROLES,
    ASSIST,
    COSIGNING,
    MAIN,
    NOT_FILED,
    RATINGS,
    SEPARATE,
)

PROPOSAL_COLUMNS = (
    ("number", 10), ("title", 32), ("category", 12), ("state", 10), ("lead", 10), ("committee", 14),
    ("sector", 10), ("cosigners", 18), ("key", 8), ("key_leader", 10), ("excellent", 8), ("submitted_at", 17),
    ("filed_at", 17), ("assigned_at", 17), ("answered_at", 17), ("main_units", 16), ("assist_units", 16),
    ("separate_units", 20), ("due_on", 12), ("answer_category", 18), ("attitude", 18), ("result", 18),
    ("not_filed_reason", 20),
)  # fmt: skip
HISTORY_COLUMNS = (("number", 10), ("time", 17), ("step", 12), ("title", 28), ("unit", 14), ("actor", 10),
                   ("text", 40))  # fmt: skip
UNIT_COLUMNS = (("unit", 18), ("assigned", 10), ("answered", 10), ("on_time", 10), ("overdue", 10),
                ("ratings", 8), ("attitude_rate", 12), ("result_rate", 12))  # fmt: skip
WRAPPED = ("title", "text")


def _columns(spec: tuple[tuple[str, float], ...], lang: str) -> list[Column]:
    return [Column(key, t(f"proposals_figures.xlsx.{key}", lang), width, wrap=key in WRAPPED) for key, width in spec]


@dataclass
class Written:
    proposals: int
    steps: int
    units: int


def _ratings_text(counts: dict[str, int], lang: str) -> str:
    sep = "、" if lang == "zh" else ", "
    return sep.join(f"{rating_label(r, lang)} {counts[r]}" for r in RATINGS if counts.get(r))


async def write_export(
    session: AsyncSession, year: int, target: Path | IO[bytes], *, rules: Rules, zone: tzinfo, now: datetime,
    lang: str = "zh",
) -> Written:  # fmt: skip
    sep = "、" if lang == "zh" else ", "
    reached = and_(in_year(year), PR.state != COSIGNING)
    of_year = select(PR.id).where(reached)

    cosigners: dict[int, list[str]] = {}
    query = (
        select(PAU.proposal_id, MB.name)
        .select_from(PAUT)
        .join(MBT, MB.id == PAU.member_id)
        .where(PAU.proposal_id.in_(of_year), PAU.consent == AGREED)
        .order_by(PAU.proposal_id, PAU.position)
    )
    for pid, name in (await run(session, query)).all():
        cosigners.setdefault(pid, []).append(name)

    units: dict[tuple[int, str], list[str]] = {}
    due: dict[int, Any] = {}
    answers: dict[int, list[str]] = {}
    query = (
        select(PAS.proposal_id, PAS.role, HU.name, PAS.due_on, PAS.answer_category)
        .select_from(PAST)
        .join(HUT, HU.id == PAS.unit_id)
        .where(PAS.proposal_id.in_(of_year), PAS.state != A_WITHDRAWN)
        .order_by(PAS.proposal_id, PAS.id)
    )
    for pid, role, name, due_on, answer in (await run(session, query)).all():
        units.setdefault((pid, role), []).append(name)
        if role in ANSWERING_ROLES:
            due[pid] = min(due[pid], due_on) if pid in due else due_on
            if answer:
                category = rules.proposal.answer_category(answer)
                label = category.label(lang) if category else answer
                if label not in answers.setdefault(pid, []):
                    answers[pid].append(label)

    last = latest_ratings().subquery("last_rating")
    ratings: dict[int, dict[str, dict[str, int]]] = {}
    for question, column in (("attitude", PRA.attitude), ("result", PRA.result)):
        query = (
            select(PRA.proposal_id, column, func.count())
            .select_from(PRAT)
            .join(last, and_(last.c.proposal_id == PRA.proposal_id, last.c.member_id == PRA.member_id,
                             last.c.round == PRA.round))  # fmt: skip
            .where(PRA.proposal_id.in_(of_year))
            .group_by(PRA.proposal_id, column)
        )
        for pid, rating, n in (await run(session, query)).all():
            ratings.setdefault(pid, {}).setdefault(question, {})[rating] = int(n)

    latest = select(PE.proposal_id, func.max(PE.id).label("id")).where(PE.kind == "not_filed").group_by(PE.proposal_id)
    last_reason = latest.subquery("last_not_filed")
    query = select(PE.proposal_id, PE.reason).select_from(PET).join(last_reason, last_reason.c.id == PE.id)
    reasons = {pid: reason for pid, reason in (await run(session, query)).all()}

    query = (
        select(PR.id, PR.number, PR.title, PR.category, PR.state, PR.key, PR.key_leader, PR.excellent,
               PR.submitted_at, PR.filed_at, PR.assigned_at, PR.answered_at, MB.name, MB.committee, MB.sector)  # fmt: skip
        .select_from(PRT)
        .join(MBT, MB.id == PR.lead_id)
        .where(reached)
        .order_by(PR.seq.is_(None), PR.seq, PR.submitted_at, PR.id)
    )
    yes, no = t("proposals_figures.xlsx.yes", lang), t("proposals_figures.xlsx.no", lang)
    with building(new_book()) as book:
        sheet = Sheet(book, t("proposals_figures.xlsx.sheet_proposals", lang), _columns(PROPOSAL_COLUMNS, lang))
        for row in (await run(session, query)).all():
            pid = row.id
            rated = ratings.get(pid, {})
            sheet.append({
                "number": row.number or "", "title": row.title, "category": row.category,
                "state": state_label(row.state, lang), "lead": row.name, "committee": row.committee or "",
                "sector": row.sector or "", "cosigners": sep.join(cosigners.get(pid, [])),
                "key": yes if row.key else no, "key_leader": row.key_leader or "",
                "excellent": yes if row.excellent else no,
                "submitted_at": When(row.submitted_at, zone), "filed_at": When(row.filed_at, zone),
                "assigned_at": When(row.assigned_at, zone), "answered_at": When(row.answered_at, zone),
                "main_units": sep.join(units.get((pid, MAIN), [])), "assist_units": sep.join(units.get((pid, ASSIST), [])),
                "separate_units": sep.join(units.get((pid, SEPARATE), [])), "due_on": due.get(pid),
                "answer_category": sep.join(answers.get(pid, [])),
                "attitude": _ratings_text(rated.get("attitude", {}), lang),
                "result": _ratings_text(rated.get("result", {}), lang),
                "not_filed_reason": reason_label(reasons.get(pid) or "other", lang) if row.state == NOT_FILED else "",
            })  # fmt: skip
        proposals = sheet.rows

        history = Sheet(book, t("proposals_figures.xlsx.sheet_history", lang), _columns(HISTORY_COLUMNS, lang))
        query = (
            select(PR.number, PR.title, PE.at, PE.kind, PE.reason, PE.text, HU.name.label("unit"), MB.name)
            .select_from(PET)
            .join(PRT, PR.id == PE.proposal_id)
            .outerjoin(HUT, HU.id == PE.unit_id)
            .outerjoin(MBT, MB.id == PE.actor_id)
            .where(reached)
            .order_by(PR.seq.is_(None), PR.seq, PR.id, PE.at, PE.id)
        )
        for row in (await run(session, query)).all():
            note = row.text or (reason_label(row.reason, lang) if row.reason else "")
            history.append({"number": row.number or "", "time": When(row.at, zone),
                            "step": t(f"proposals_figures.step.{row.kind}", lang) if row.kind else "",
                            "title": row.title, "unit": row.unit or "", "actor": row.name or "", "text": note})  # fmt: skip

        per_unit = Sheet(book, t("proposals_figures.xlsx.sheet_units", lang), _columns(UNIT_COLUMNS, lang))
        for unit in await unit_figures(session, year, now=now, zone=zone):
            total: Ratings = unit.result
            per_unit.append({"unit": unit.name, "assigned": unit.assigned, "answered": unit.answered,
                             "on_time": unit.on_time, "overdue": unit.overdue, "ratings": total.total,
                             "attitude_rate": unit.attitude.satisfied_rate, "result_rate": unit.result.satisfied_rate})  # fmt: skip
        save(book, target)
    return Written(proposals, history.rows, per_unit.rows)
