"""Benchmark: the weekly digest, the year in review and the member export at district and province
scale, on SQLite and PostgreSQL, against a naive load-everything-into-Python version of the same
numbers (which must come out identical).

    .venv/bin/python bench/digest_scale.py [--db sqlite|postgres|both] [--scale district|province|both]
                                           [--regenerate]

district: 300 members, 10 years (≈150,000 activity reports, 30,000 社情民意, 5,000 events with attendance)
province: 10,000 members, one year (≈500,000 reports, 100,000 社情民意, 5,000 events)
Both with what the year in review counts: tags, organisers, guests and quantities of the events (some
for the staff only), quantities on members' reports, documents with 批示, the work log (3,000 /
5,000 entries), 社情民意 adopted higher up and transferred to the hotline or departments, and
proposals (提案) over 10 years in every state with their proposers, units, late and on-time answers,
ratings and history (district 10 × 200, province 10 × 5,000). "proposals" times the year's proposal
figures of `lvzhi annual` (bot.services.proposals.figures); digest and review include them too.

Generated databases are cached (bench/.cache/<scale>.db, PostgreSQL database lvzhi_bench_<scale>)
and rebuilt when GENERATOR_VERSION changes. Each measurement runs in a subprocess of its own, so
its peak memory (VmHWM) is its own. Targets: district < 1 s, province < 5 s, peak < 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CACHE = Path(__file__).resolve().parent / ".cache"
GENERATOR_VERSION = 7
PG_ADMIN = os.environ.get("LVZHI_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 12, 8, 9, 0, tzinfo=ZONE).astimezone(UTC)  # Monday 09:00: the digest of 2025-W49
YEAR = 2025
TARGETS = {"district": 1.0, "province": 5.0}
PEAK_TARGET_MB = 300


@dataclass(frozen=True)
class Scale:
    name: str
    members: int
    years: int
    reports: int
    info: int
    events: int
    invited: int  # per event


SCALES = {
    "district": Scale("district", 300, 10, 150_000, 30_000, 5_000, 30),
    "province": Scale("province", 10_000, 1, 500_000, 100_000, 5_000, 40),
}
COMMITTEES = [
    "经济委员会",
    "教科文卫委员会",
    "社会和法制委员会",
    "农业农村委员会",
    "文史委员会",
    "提案委员会",
    "人口资源环境委员会",
    "港澳台侨委员会",
]
SECTORS = [
    "中共",
    "民革",
    "民盟",
    "民建",
    "民进",
    "农工党",
    "致公党",
    "九三学社",
    "无党派",
    "共青团",
    "工会",
    "妇联",
    "工商联",
    "科技界",
    "教育界",
    "文艺界",
    "医药卫生界",
    "经济界",
    "农业界",
    "社会福利界",
]
EVENT_KINDS = [
    "study",
    "reading",
    "consultation",
    "research",
    "inspection",
    "supervision",
    "service",
    "meeting",
]
LEVELS = ["district", "city", "region", "national"]


# --------------------------------------------------------------------------- generation


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def generate_rows(scale: Scale, rules) -> dict[str, tuple[list[str], list[tuple]]]:  # type: ignore[no-untyped-def]
    """Every table's rows (deterministic), as (columns, rows)."""
    rng = random.Random(20251208 + scale.members)
    first_day = date(YEAR - scale.years + 1, 1, 1)
    last_day = _naive(NOW).date() - timedelta(days=1)
    span = (last_day - first_day).days
    now = _naive(NOW)
    created = datetime(first_day.year, 1, 1)
    tables: dict[str, tuple[list[str], list[tuple]]] = {}

    members = []
    for i in range(1, scale.members + 1):
        role = "secretariat" if i <= 5 else "member"
        bound = rng.random() < 0.9 or role != "member"
        bound_at = created + timedelta(days=rng.randrange(span), hours=rng.randrange(24)) if bound else None
        members.append(
            (
                i,
                f"委员{i:05d}",
                rng.choice(SECTORS),
                rng.choice(COMMITTEES),
                role,
                None,
                10_000_000 + i if bound else None,
                None,
                rng.random() > 0.02,
                not (bound and rng.random() < 0.03),
                bound_at,
                created,
                created,
            )
        )
    tables["member"] = (
        [
            "id",
            "name",
            "sector",
            "committee",
            "role",
            "phone",
            "telegram_user_id",
            "language",
            "active",
            "reachable",
            "bound_at",
            "created_at",
            "updated_at",
        ],
        members,
    )

    codes = list(rules.activities)
    weights = [3 if c in ("meeting", "study", "research", "inspection", "service") else 1 for c in codes]
    reports = []
    for i in range(1, scale.reports + 1):
        code = rng.choices(codes, weights)[0]
        day = first_day + timedelta(days=rng.randrange(span))
        submitted = datetime.combine(day, datetime.min.time()) + timedelta(
            days=rng.randrange(4), minutes=rng.randrange(1440)
        )
        submitted = min(submitted, now - timedelta(minutes=rng.randrange(1, 600)))
        activity = rules.activities[code]
        attendance = None
        points = activity.points
        roll = rng.random()
        status = "confirmed" if roll < 0.85 else "returned" if roll < 0.92 else "withdrawn"
        if now - submitted < timedelta(days=21) and rng.random() < 0.5:
            status = "pending"  # the review queue holds recent reports
        if code in ("plenary", "standing"):
            attendance = rng.choices(["present", "leave", "absent"], [8, 1, 1])[0]
            status = "confirmed"
            points = (
                activity.points
                if attendance == "present"
                else (activity.leave_points or 0.0)
                if attendance == "leave"
                else (activity.absence_points or 0.0)
            )
        reviewed = (
            submitted + timedelta(days=rng.randrange(1, 6)) if status in ("confirmed", "returned") else None
        )
        reports.append(
            (
                i,
                rng.randrange(1, scale.members + 1),
                code,
                day,
                None,
                "履职活动情况记录",
                status,
                float(points),
                attendance,
                None,
                None,
                submitted,
                reviewed,
                None,
                None,
                submitted,
                submitted,
            )
        )
    tables["activity_report"] = (
        [
            "id",
            "member_id",
            "type_code",
            "activity_date",
            "title",
            "description",
            "status",
            "points",
            "attendance",
            "source_key",
            "recorded_by",
            "submitted_at",
            "reviewed_at",
            "reviewed_by",
            "return_reason",
            "created_at",
            "updated_at",
        ],
        reports,
    )

    items, authors, steps = [], [], []
    seqs: dict[int, int] = defaultdict(int)
    step_id = author_id = 0
    for i in range(1, scale.info + 1):
        submitted = datetime.combine(
            first_day + timedelta(days=rng.randrange(span)), datetime.min.time()
        ) + timedelta(minutes=rng.randrange(1440))
        seqs[submitted.year] += 1
        roll = rng.random()
        state = (
            "accepted"
            if roll < 0.6
            else "submitted"
            if roll < 0.7
            else "returned"
            if roll < 0.8
            else "rejected"
        )
        first = rng.randrange(1, scale.members + 1)
        items.append(
            (
                i,
                f"SQ-{submitted.year}-{seqs[submitted.year]:05d}",
                submitted.year,
                seqs[submitted.year],
                first,
                f"社情民意{i}",
                "正文",
                "民生保障",
                state,
                None,
                None,
                None,
                None,
                submitted,
                submitted,
                submitted,
            )
        )
        people = [first] + rng.sample(range(1, scale.members + 1), rng.choice([0, 0, 0, 1, 2]))
        for position, member in enumerate(dict.fromkeys(people)):
            author_id += 1
            authors.append((author_id, i, member, position))

        def step(kind: str, at: datetime, level: str | None = None, item: int = i) -> None:
            nonlocal step_id
            step_id += 1
            steps.append((step_id, item, kind, None, level, None, None, None, min(at, now)))

        step("submitted", submitted)
        if state in ("accepted", "returned", "rejected"):
            decided = submitted + timedelta(days=rng.randrange(1, 10))
            step(state, decided)
            if state == "accepted":
                if rng.random() < 0.4:
                    for level in rng.sample(LEVELS, rng.choice([1, 1, 2])):
                        step("reported", decided + timedelta(days=rng.randrange(1, 20)), level)
                if rng.random() < 0.2:
                    transferred = decided + timedelta(days=rng.randrange(1, 10))
                    step("transferred", transferred)
                    if rng.random() < 0.7:
                        step("feedback", transferred + timedelta(days=rng.randrange(1, 30)))
                if rng.random() < 0.05:
                    step("instruction", decided + timedelta(days=rng.randrange(1, 30)))
    tables["info_item"] = (
        [
            "id",
            "number",
            "year",
            "seq",
            "author_id",
            "title",
            "body",
            "category",
            "state",
            "original_title",
            "original_body",
            "duplicate_of",
            "draft_key",
            "submitted_at",
            "last_submitted_at",
            "updated_at",
        ],
        items,
    )
    tables["info_author"] = (["id", "item_id", "member_id", "position"], authors)
    tables["info_event"] = (
        ["id", "item_id", "kind", "actor_id", "level", "target", "on_date", "text", "at"],
        steps,
    )

    events, invitations = [], []
    invitation_id = 0
    for i in range(1, scale.events + 1):
        # the last few are still to come (published, next week), the rest held or cancelled
        upcoming = i > scale.events - 12
        starts = (
            now + timedelta(days=rng.randrange(1, 12), hours=rng.randrange(8))
            if upcoming
            else datetime.combine(first_day + timedelta(days=rng.randrange(span)), datetime.min.time())
            + timedelta(hours=1 + rng.randrange(9))
        )
        status = "published" if upcoming else "cancelled" if rng.random() < 0.05 else "closed"
        events.append(
            (
                i,
                f"活动{i}",
                rng.choice(EVENT_KINDS),
                starts,
                starts + timedelta(hours=2),
                "",
                "all",
                "",
                "[]",
                "[]",
                starts - timedelta(minutes=30),
                starts + timedelta(hours=2),
                f"{i:06d}",
                status,
                1,
                None,
                starts - timedelta(days=7),
                None,
                starts + timedelta(hours=3) if status == "closed" else None,
                starts - timedelta(days=7),
                starts - timedelta(days=7),
            )
        )
        for member in rng.sample(range(1, scale.members + 1), min(scale.invited, scale.members)):
            invitation_id += 1
            answer = rng.choices(["attend", "leave", "none"], [6, 2, 2])[0]
            checked = starts if status == "closed" and answer == "attend" and rng.random() < 0.9 else None
            attendance = None
            if status == "closed" and rng.random() < 0.8:
                attendance = "present" if checked else "leave" if answer == "leave" else "absent"
            invitations.append(
                (
                    invitation_id,
                    i,
                    member,
                    answer,
                    None,
                    None,
                    checked,
                    None,
                    attendance,
                    starts - timedelta(days=7),
                )
            )
    tables["event"] = (
        [
            "id",
            "title",
            "kind",
            "starts_at",
            "ends_at",
            "place",
            "audience_kind",
            "audience_value",
            "audience_member_ids",
            "remind_offsets",
            "checkin_opens_at",
            "checkin_closes_at",
            "checkin_code",
            "status",
            "version",
            "created_by",
            "published_at",
            "cancelled_at",
            "closed_at",
            "created_at",
            "updated_at",
        ],
        events,
    )
    tables["invitation"] = (
        [
            "id",
            "event_id",
            "member_id",
            "answer",
            "leave_reason",
            "answered_at",
            "checked_in_at",
            "checkin_method",
            "attendance",
            "invited_at",
        ],
        invitations,
    )
    deadlines = [
        (number, title, due, json.dumps(requirement), "active", None, created)
        for number, (title, due, requirement) in enumerate(
            (
                ("年度社情民意", date(2025, 12, 20), {"type": "info", "count": 1}),
                ("积分达标", date(2025, 12, 31), {"type": "points", "min": 40}),
                ("调研任务", date(2025, 12, 15), {"type": "activity", "code": "research", "count": 2}),
                ("明年任务", date(2026, 3, 1), {"type": "info", "count": 2}),
            ),
            start=1,
        )
    ]
    tables["deadline"] = (
        ["id", "title", "due_on", "requirement", "status", "created_by", "created_at"],
        deadlines,
    )
    _review_rows(tables, scale, rules, first_day, span)
    _proposal_rows(tables, scale, rules)
    return tables


def _review_rows(tables: dict, scale: Scale, rules, first_day: date, span: int) -> None:  # type: ignore[no-untyped-def]
    """What the year in review counts, added to the generated tables with a generator of its own."""
    rng = random.Random(20260101 + scale.members)
    review = rules.review
    tags, quantities = list(review.tags), list(review.quantities)
    organisers = list(review.organisers)
    columns, events = tables["event"]
    at = {name: i for i, name in enumerate(columns)}
    staff_events: set[int] = set()
    rows, tag_rows, guest_rows, quantity_rows, documents = [], [], [], [], []
    for row in events:
        row = list(row)
        event_id, status = row[at["id"]], row[at["status"]]
        organiser = rng.choice(organisers) if rng.random() < 0.4 else None
        unit = rng.choice(COMMITTEES) if organiser and review.organisers[organiser].committee else None
        if rng.random() < 0.03:
            row[at["audience_kind"]] = "staff"
            staff_events.add(event_id)
        rows.append((*row, organiser, unit))
        for tag in rng.sample(tags, rng.choice([0, 1, 1, 2])):
            tag_rows.append((event_id, tag))
        if rng.random() < 0.25:
            for position in range(rng.randrange(1, 4)):
                guest_rows.append((len(guest_rows) + 1, event_id, f"领导{rng.randrange(40)}", position))
        if rng.random() < 0.4:
            for code in rng.sample(quantities, rng.choice([1, 1, 2])):
                quantity_rows.append((len(quantity_rows) + 1, event_id, None, code, rng.randrange(1, 40), None,
                                      row[at["starts_at"]]))  # fmt: skip
        kind = row[at["kind"]]
        if status != "cancelled" and kind in ("consultation", "research", "inspection") and rng.random() < 0.15:
            day = (row[at["starts_at"]] + timedelta(hours=8)).date()
            instructed = rng.random() < 0.3
            documents.append((len(documents) + 1, event_id, "consult_report" if kind == "consultation" else
                              "research_report", f"报告{event_id}", day, "区委书记" if instructed else None,
                              day + timedelta(days=10) if instructed else None, None, None,
                              row[at["starts_at"]]))  # fmt: skip
    tables["event"] = ([*columns, "organiser", "organiser_unit"], rows)
    # staff-only events invite the secretariat (members 1–5), not members
    inv_columns, invitations = tables["invitation"]
    kept = [inv for inv in invitations if inv[1] not in staff_events]
    next_id = max((inv[0] for inv in invitations), default=0)
    status_of = {row[at["id"]]: (row[at["status"]], row[at["starts_at"]]) for row in rows}
    for event_id in sorted(staff_events):
        status, starts = status_of[event_id]
        for member in range(1, 6):
            next_id += 1
            present = status == "closed" and rng.random() < 0.8
            kept.append((next_id, event_id, member, "attend", None, None, starts if present else None, None,
                         ("present" if present else "absent") if status == "closed" else None,
                         starts - timedelta(days=7)))  # fmt: skip
    tables["invitation"] = (inv_columns, kept)
    # members' own reports with a quantity their type allows
    report_columns, reports = tables["activity_report"]
    col = {name: i for i, name in enumerate(report_columns)}
    allowed = {code: [q for q, spec in review.quantities.items() if code in spec.report_types] for code in rules.activities}
    for report in reports:
        if allowed.get(report[col["type_code"]]) and rng.random() < 0.2:
            quantity_rows.append((len(quantity_rows) + 1, None, report[col["id"]], rng.choice(allowed[report[col["type_code"]]]),
                                  rng.randrange(1, 20), None, report[col["submitted_at"]]))  # fmt: skip
    for _ in range(scale.years * 20):  # the committee's own documents
        day = first_day + timedelta(days=rng.randrange(span))
        documents.append((len(documents) + 1, None, rng.choice(list(review.documents)), f"文稿{len(documents)}", day,
                          None, None, None, None, datetime.combine(day, datetime.min.time())))  # fmt: skip
    log_rows = []
    kinds = list(review.log_kinds)
    for i in range(1, (3_000 if scale.years > 1 else 5_000) + 1):
        kind = rng.choice(kinds)
        day = first_day + timedelta(days=rng.randrange(span))
        marked = bool(review.log_kinds[kind].mark_zh) and rng.random() < 0.35
        log_rows.append((i, kind, day, rng.randrange(1, 6), f"记录{i}", marked, None, None,
                         datetime.combine(day, datetime.min.time())))  # fmt: skip
    # 社情民意: the hotline or a department for each transfer; some items adopted higher up
    step_columns, steps = tables["info_event"]
    reported = sorted({st[1] for st in steps if st[2] == "reported"})
    new_steps = [(*st[:5], ("12345热线" if rng.random() < 0.5 else "区住建局") if st[2] == "transferred" else st[5], *st[6:])
                 for st in steps]  # fmt: skip
    last = {st[1]: st[8] for st in steps}
    for item in rng.sample(reported, len(reported) // 10):
        new_steps.append((len(new_steps) + 1, item, "adopted", None, rng.choice(LEVELS[1:]), None, None, None,
                          last[item]))  # fmt: skip
    tables["info_event"] = (step_columns, new_steps)
    tables["event_tag"] = (["event_id", "tag"], tag_rows)
    tables["event_guest"] = (["id", "event_id", "name", "position"], guest_rows)
    tables["outcome_quantity"] = (["id", "event_id", "report_id", "code", "amount", "recorded_by", "recorded_at"],
                                  quantity_rows)  # fmt: skip
    tables["output_document"] = (["id", "event_id", "kind", "title", "on_date", "instruction_by", "instruction_on",
                                  "note", "recorded_by", "created_at"], documents)  # fmt: skip
    tables["work_log"] = (["id", "kind", "on_date", "count", "note", "marked", "recorded_by", "entry_key",
                           "created_at"], log_rows)  # fmt: skip


ORDER = [
    "member",
    "activity_report",
    "info_item",
    "info_author",
    "info_event",
    "event",
    "invitation",
    "deadline",
    "event_tag",
    "event_guest",
    "outcome_quantity",
    "output_document",
    "work_log",
    "handling_unit",
    "proposal",
    "proposal_author",
    "proposal_assignment",
    "proposal_rating",
    "proposal_event",
]


# --------------------------------------------------------------------------- proposals


PROPOSAL_YEARS = 10
PROPOSALS_PER_YEAR = {"district": 200, "province": 5_000}
UNITS = {"district": 40, "province": 150}
# state shares of a past year's proposals (the bench's own year is still under way)
PAST_STATES = (("answered", 80), ("not_filed", 6), ("merged", 4), ("converted", 4), ("assigned", 3), ("filed", 2),
               ("returned", 1))  # fmt: skip
OPEN_STATES = (("answered", 55), ("assigned", 20), ("filed", 5), ("submitted", 6), ("not_filed", 5), ("merged", 3),
               ("converted", 3), ("returned", 2), ("cosigning", 1))  # fmt: skip
REASONS = ("litigation", "personal", "vague", "multiple", "promotion", "other")


def _pick(rng: random.Random, shares) -> str:  # type: ignore[no-untyped-def]
    n = rng.randrange(sum(w for _, w in shares))
    for state, weight in shares:
        if n < weight:
            return state
        n -= weight
    return shares[-1][0]


def _proposal_rows(tables: dict, scale: Scale, rules) -> None:  # type: ignore[no-untyped-def]
    """Proposals over PROPOSAL_YEARS years with their proposers, units, answers, ratings and history."""
    rng = random.Random(20261202 + scale.members)
    now = _naive(NOW)
    created = datetime(YEAR - PROPOSAL_YEARS, 1, 1)
    units = [(i, f"承办单位{i:03d}", f"单位{i:03d}", f"联系人{i}", None, True, created) for i in range(1, UNITS[scale.name] + 1)]
    tables["handling_unit"] = (["id", "name", "short_name", "contact_name", "phone", "active", "created_at"], units)
    ordinary = list(range(6, scale.members + 1))
    categories = list(rules.proposal.categories)
    proposals, authors, assignments, ratings, steps = [], [], [], [], []
    pid = aid = sid = rid = eid = 0
    for year in range(YEAR - PROPOSAL_YEARS + 1, YEAR + 1):
        start = datetime(year, 1, 1) - timedelta(hours=8)
        days = min(365, (now - start).days - 1)
        seq = 0
        filed_ids: list[int] = []
        for _ in range(PROPOSALS_PER_YEAR[scale.name]):
            pid += 1
            state = _pick(rng, OPEN_STATES if year == YEAR else PAST_STATES)
            submitted = start + timedelta(days=rng.randrange(max(days - 10, 1)), minutes=rng.randrange(1440))
            filed = state in ("filed", "assigned", "answered")
            number = None
            if filed:
                seq += 1
                number = f"{year}-{seq:04d}"
            filed_at = submitted + timedelta(days=rng.randint(2, 9)) if filed else None
            assigned_at = filed_at + timedelta(days=rng.randint(1, 5)) if state in ("assigned", "answered") and filed_at else None
            key = filed and rng.random() < 0.04
            excellent = filed and rng.random() < 0.02
            reworked = state == "answered" and rng.random() < 0.03
            lead = rng.choice(ordinary)
            round_ = 2 if reworked else 1
            # the proposers
            aid += 1
            authors.append((aid, pid, lead, 0, "lead", submitted))
            credited = [lead]
            for position, member in enumerate(rng.sample(ordinary, rng.choice((0, 0, 1, 2, 3))), start=1):
                if member == lead:
                    continue
                consent = "agreed" if rng.random() < 0.8 else ("declined" if rng.random() < 0.75 else "pending")
                aid += 1
                authors.append((aid, pid, member, position, consent, submitted + timedelta(hours=5)))
                if consent == "agreed":
                    credited.append(member)
            # the units
            answered_at = None
            if assigned_at is not None:
                due = (assigned_at + timedelta(hours=8)).date() + timedelta(days=90)
                chosen = rng.sample(range(1, len(units) + 1), 3)
                roles = [("separate", chosen[0]), ("separate", chosen[1])] if rng.random() < 0.1 else \
                    [("main", chosen[0])] + [("assist", u) for u in chosen[1:1 + rng.choice((0, 1, 2))]]  # fmt: skip
                if rng.random() < 0.03:
                    sid += 1
                    assignments.append((sid, pid, chosen[2], roles[0][0], "withdrawn", 1, assigned_at,
                                        assigned_at + timedelta(days=10), due, None, None))  # fmt: skip
                for role, unit in roles:
                    done = None
                    if state == "answered":
                        done = min(assigned_at + timedelta(days=rng.randint(20, 105), minutes=rng.randrange(1440)),
                                   now - timedelta(days=1))  # fmt: skip
                        if role != "assist":
                            answered_at = max(answered_at or done, done)
                    sid += 1
                    assignments.append((sid, pid, unit, role, "answered" if done else "signed",
                                        round_ if role != "assist" else 1, assigned_at, assigned_at + timedelta(days=10),
                                        due, done, rng.choice("AABC") if done and role != "assist" else None))  # fmt: skip
            merged_into = rng.choice(filed_ids) if state == "merged" and filed_ids else None
            if filed:
                filed_ids.append(pid)
            proposals.append((pid, year, number, seq if filed else None, lead, f"关于第{pid}件事项的建议",
                              rng.choice(categories), "情况分析", "具体建议", state, key,
                              f"领导{rng.randrange(9)}" if key else None, excellent, merged_into, None, reworked,
                              None, submitted, None, filed_at, assigned_at, answered_at, submitted))  # fmt: skip
            # the history and the ratings
            eid += 1
            steps.append((eid, pid, "submitted", lead, None, None, None, None, submitted))
            if state == "not_filed":
                for _ in range(rng.choice((1, 1, 2))):
                    eid += 1
                    steps.append((eid, pid, "not_filed", 1, None, rng.choice(REASONS), None, None,
                                  submitted + timedelta(days=rng.randint(3, 12))))  # fmt: skip
            if state == "submitted" and rng.random() < 0.3:
                eid += 1
                steps.append((eid, pid, "resubmitted", lead, None, None, None, None,
                              min(submitted + timedelta(days=rng.randint(1, 20)), now - timedelta(hours=1))))  # fmt: skip
            if filed_at is not None:
                eid += 1
                steps.append((eid, pid, "filed", 1, None, None, None, None, filed_at))
            if answered_at is not None and rng.random() < 0.85:
                for member in credited:
                    for r in range(1, round_ + 1):
                        rid += 1
                        ratings.append((rid, pid, member, r, rng.choice(("satisfied", "satisfied", "basically", "unsatisfied")),
                                        rng.choice(("satisfied", "basically", "unsatisfied")), None,
                                        answered_at + timedelta(days=rng.randint(1, 20))))  # fmt: skip
    tables["proposal"] = (["id", "year", "number", "seq", "lead_id", "title", "category", "analysis", "suggestion",
                           "state", "key", "key_leader", "excellent", "merged_into_id", "info_item_id", "reworked",
                           "draft_key", "submitted_at", "cosign_until", "filed_at", "assigned_at", "answered_at",
                           "updated_at"], proposals)  # fmt: skip
    tables["proposal_author"] = (["id", "proposal_id", "member_id", "position", "consent", "answered_at"], authors)
    tables["proposal_assignment"] = (["id", "proposal_id", "unit_id", "role", "state", "round", "assigned_at",
                                      "object_until", "due_on", "answered_at", "answer_category"], assignments)  # fmt: skip
    tables["proposal_rating"] = (["id", "proposal_id", "member_id", "round", "attitude", "result", "comment", "at"],
                                 ratings)  # fmt: skip
    tables["proposal_event"] = (["id", "proposal_id", "kind", "actor_id", "unit_id", "reason", "on_date", "text", "at"],
                                steps)  # fmt: skip


def sqlite_path(scale: str) -> Path:
    return CACHE / f"{scale}.db"


def pg_name(scale: str) -> str:
    return f"lvzhi_bench_{scale}"


def pg_url(scale: str, driver: str = "postgresql+psycopg") -> str:
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", f"{driver}://", 1)
    return f"{base}/{pg_name(scale)}"


def ensure_sqlite(scale: Scale, rules, regenerate: bool) -> str:  # type: ignore[no-untyped-def]
    from models.db import upgrade

    path = sqlite_path(scale.name)
    url = f"sqlite:///{path}"
    if path.exists() and not regenerate:
        with sqlite3.connect(path) as conn:
            try:
                if conn.execute("SELECT version FROM bench_meta").fetchone() == (GENERATOR_VERSION,):
                    return url
            except sqlite3.OperationalError:
                pass
    CACHE.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    upgrade(url)
    tables = generate_rows(scale, rules)
    # Stored exactly as SQLAlchemy writes them (it compares datetimes as these strings).
    sqlite3.register_adapter(datetime, lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S.%f"))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    for table in ORDER:
        columns, rows = tables[table]
        marks = ",".join("?" * len(columns))
        conn.executemany(f'INSERT INTO "{table}" ({",".join(columns)}) VALUES ({marks})', rows)
    conn.execute("CREATE TABLE bench_meta (version INTEGER)")
    conn.execute("INSERT INTO bench_meta VALUES (?)", (GENERATOR_VERSION,))
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    print(f"  generated {path.name} in {time.perf_counter() - started:.1f} s", flush=True)
    return url


def ensure_postgres(scale: Scale, rules, regenerate: bool) -> str | None:  # type: ignore[no-untyped-def]
    import psycopg

    from models.db import upgrade

    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except Exception as exc:
        print(f"  PostgreSQL not reachable ({type(exc).__name__}); skipped", flush=True)
        return None
    name = pg_name(scale.name)
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and not regenerate:
            try:
                with psycopg.connect(pg_url(scale.name, "postgresql")) as conn:
                    if conn.execute("SELECT version FROM bench_meta").fetchone() == (GENERATOR_VERSION,):
                        return pg_url(scale.name)
            except psycopg.Error:
                pass
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    started = time.perf_counter()
    upgrade(pg_url(scale.name))
    tables = generate_rows(scale, rules)
    with psycopg.connect(pg_url(scale.name, "postgresql")) as conn:
        with conn.cursor() as cur:
            for table in ORDER:
                columns, rows = tables[table]
                with cur.copy(f'COPY "{table}" ({",".join(columns)}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
            cur.execute("CREATE TABLE bench_meta (version INTEGER)")
            cur.execute("INSERT INTO bench_meta VALUES (%s)", (GENERATOR_VERSION,))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    print(f"  generated PostgreSQL {name} in {time.perf_counter() - started:.1f} s", flush=True)
    return pg_url(scale.name)


# --------------------------------------------------------------------------- the SQL versions


async def sql_digest(session, rules):  # type: ignore[no-untyped-def]
    from bot.services.digest import build_digest, digest_week_for

    digest = await build_digest(session, digest_week_for(NOW, ZONE), now=NOW, rules=rules, zone=ZONE)
    return digest.as_dict()


async def sql_annual(session, rules):  # type: ignore[no-untyped-def]
    from bot.services.annual import annual_figures

    return (await annual_figures(session, YEAR, rules=rules, zone=ZONE, now=NOW)).as_dict()


async def sql_review(session, rules):  # type: ignore[no-untyped-def]
    from bot.services.year_review import year_review

    return (await year_review(session, YEAR, rules=rules, zone=ZONE, now=NOW)).as_dict()


async def sql_proposals(session, rules):  # type: ignore[no-untyped-def]
    from bot.services.proposals.figures import proposal_figures

    return (await proposal_figures(session, YEAR, zone=ZONE)).as_dict()


async def sql_members(session, rules):  # type: ignore[no-untyped-def]
    import tempfile

    from bot.services.exports import new_book, save, write_members
    from bot.services.figures import Period, member_records

    period = Period.of_year(YEAR, ZONE)
    records = await member_records(session, period, rules, now=NOW)
    book = new_book()
    await write_members(book, session, period, rules, "zh", records=records)
    with tempfile.TemporaryDirectory() as folder:
        save(book, Path(folder) / "members.xlsx")
    return records  # the numbers written, for the comparison


# --------------------------------------------------------------------------- the naive versions


class Everything:
    """Every row of every table the figures read, loaded into Python."""

    async def load(self, session) -> Everything:  # type: ignore[no-untyped-def]
        from sqlalchemy import select

        from models import (
            ActivityReport,
            Deadline,
            Event,
            EventGuest,
            EventTag,
            InfoAuthor,
            InfoEvent,
            InfoItem,
            Invitation,
            Member,
            OutcomeQuantity,
            OutputDocument,
            Proposal,
            ProposalAssignment,
            ProposalAuthor,
            ProposalEvent,
            ProposalRating,
            WorkLogEntry,
        )

        async def rows(model):  # type: ignore[no-untyped-def]
            return (await session.exec(select(*model.__table__.c))).all()

        self.members = await rows(Member)
        self.reports = await rows(ActivityReport)
        self.items = await rows(InfoItem)
        self.authors = await rows(InfoAuthor)
        self.steps = await rows(InfoEvent)
        self.events = await rows(Event)
        self.invitations = await rows(Invitation)
        self.deadlines = await rows(Deadline)
        self.tags = await rows(EventTag)
        self.guests = await rows(EventGuest)
        self.quantities = await rows(OutcomeQuantity)
        self.documents = await rows(OutputDocument)
        self.log = await rows(WorkLogEntry)
        self.proposals = await rows(Proposal)
        self.proposal_authors = await rows(ProposalAuthor)
        self.proposal_assignments = await rows(ProposalAssignment)
        self.proposal_ratings = await rows(ProposalRating)
        self.proposal_steps = await rows(ProposalEvent)
        self.member = {m.id: m for m in self.members}
        # who counts as a 委员 (Member.is_member): staff only when the roster says they are one too
        self.is_member = {m.id: m.role == "member" or bool(m.also_member) for m in self.members}
        return self


def _capped(value: float, cap: float | None) -> float:
    return value if cap is None or value <= cap else cap


def naive_info_points(data: Everything, start: datetime, end: datetime, rules) -> dict[int, list]:  # type: ignore[no-untyped-def]
    """member id -> [items, first-author items, points (capped)] for items submitted in [start, end)."""
    rank = {level: n for n, level in enumerate(LEVELS, start=1)}
    reported: dict[int, int] = defaultdict(int)
    instructed: set[int] = set()
    for s in data.steps:
        if s.kind == "reported":
            reported[s.item_id] = max(reported[s.item_id], rank.get(s.level, 0))
        elif s.kind == "instruction":
            instructed.add(s.item_id)
    points: dict[int, float] = {}
    for item in data.items:
        if start <= item.submitted_at < end:
            top = max(reported.get(item.id, 0), 1 if item.state == "accepted" else 0)
            bonus = rules.info.adopt_bonus.get(LEVELS[top - 1], 0) if top else 0.0
            points[item.id] = (
                rules.info.submit_points
                + bonus
                + (rules.info.instruction_bonus if item.id in instructed else 0)
            )
    out: dict[int, list] = {}
    for a in data.authors:
        if a.item_id in points:
            entry = out.setdefault(a.member_id, [0, 0, 0.0])
            entry[0] += 1
            entry[1] += 1 if a.position == 0 else 0
            entry[2] += points[a.item_id] * (1.0 if a.position == 0 else rules.info.coauthor_share)
    for entry in out.values():
        entry[2] = _capped(entry[2], rules.info.cap)
    return out


# --------------------------------------------------------------------------- the naive proposals


P_FILED = ("filed", "assigned", "answered")


def naive_proposal_points(data: Everything, period, rules) -> dict[int, list]:  # type: ignore[no-untyped-def]
    """member id -> [proposals credited, led, points (capped)] for filed proposals submitted in the period."""
    r = rules.proposal
    filed = {p.id: p for p in data.proposals if p.state in P_FILED and period.db_start <= p.submitted_at < period.db_end}
    out: dict[int, list] = defaultdict(lambda: [0, 0, 0.0])
    for a in data.proposal_authors:
        p = filed.get(a.proposal_id)
        if p is None or a.consent not in ("lead", "agreed"):
            continue
        entry = out[a.member_id]
        entry[0] += 1
        if a.consent == "lead":
            entry[1] += 1
            entry[2] += r.lead_points + (r.key_bonus if p.key else 0) + (r.excellent_bonus if p.excellent else 0)
        else:
            entry[2] += r.cosigner_points
    for entry in out.values():
        entry[2] = _capped(entry[2], r.cap)
    return out


def _latest_ratings(data: Everything) -> list:
    best: dict[tuple[int, int], object] = {}
    for row in data.proposal_ratings:
        key = (row.proposal_id, row.member_id)
        if key not in best or row.round > best[key].round:  # type: ignore[attr-defined]
            best[key] = row
    return list(best.values())


def _ratings(rows: list):  # type: ignore[no-untyped-def]
    from bot.services.proposals.figures import Ratings

    attitude, result = Ratings(), Ratings()
    for row in rows:
        for ratings, value in ((attitude, row.attitude), (result, row.result)):
            setattr(ratings, value, getattr(ratings, value) + 1)
    return attitude, result


def _local_day(moment: datetime) -> date:
    return moment.replace(tzinfo=UTC).astimezone(ZONE).date()


def naive_proposal_figures(data: Everything, year: int):  # type: ignore[no-untyped-def]
    from bot.services.proposals.figures import Counts, KeyProposal, ProposalFigures

    out = ProposalFigures(year=year)
    mine = [p for p in data.proposals if p.year == year]
    ids = {p.id for p in mine}
    out.recorded = len(mine)
    if not mine:
        return out
    late = {a.proposal_id for a in data.proposal_assignments if a.proposal_id in ids and a.role in ("main", "separate")
            and a.state == "answered" and _local_day(a.answered_at) > a.due_on}  # fmt: skip
    last_reason: dict[int, tuple[int, str | None]] = {}
    for step in data.proposal_steps:
        if step.kind == "not_filed" and step.proposal_id in ids:
            if step.proposal_id not in last_reason or step.id > last_reason[step.proposal_id][0]:
                last_reason[step.proposal_id] = (step.id, step.reason)
    out.not_filed_by_reason = dict.fromkeys(REASONS, 0)
    for p in mine:
        lead = data.member[p.lead_id]
        out.by_category.setdefault(p.category, Counts())
        out.by_committee.setdefault(lead.committee or "", Counts())
        out.by_sector.setdefault(lead.sector or "", Counts())
        counts = [out.by_category[p.category], out.by_committee[lead.committee or ""], out.by_sector[lead.sector or ""]]
        if p.state != "cosigning":
            out.submitted += 1
            for c in counts:
                c.submitted += 1
        if p.state in P_FILED:
            out.filed += 1
            for c in counts:
                c.filed += 1
        if p.state == "answered":
            out.answered += 1
            out.on_time += p.id not in late
            for c in counts:
                c.answered += 1
        if p.state == "not_filed":
            reason = last_reason.get(p.id, (0, None))[1] or "other"
            out.not_filed_by_reason[reason] = out.not_filed_by_reason.get(reason, 0) + 1
        for state, name in (("submitted", "waiting"), ("returned", "returned"), ("not_filed", "not_filed"),
                            ("merged", "merged"), ("converted", "converted"), ("assigned", "assigned")):  # fmt: skip
            if p.state == state:
                setattr(out, name, getattr(out, name) + 1)
        out.key_count += bool(p.key)
        out.excellent += bool(p.excellent)
    out.attitude, out.result = _ratings([r for r in _latest_ratings(data) if r.proposal_id in ids])
    out.key = [KeyProposal(p.number, p.title, p.key_leader, p.state, data.member[p.lead_id].name)
               for p in sorted((p for p in mine if p.key), key=lambda p: (p.seq, p.id))]  # fmt: skip
    return out


def naive_proposal_week(data: Everything, period):  # type: ignore[no-untyped-def]
    from bot.services.proposals.figures import ProposalWeek

    def within(moment: datetime | None) -> bool:
        return moment is not None and period.db_start <= moment < period.db_end

    return ProposalWeek(
        sum(1 for p in data.proposals if within(p.submitted_at) and p.state != "cosigning"),
        sum(1 for p in data.proposals if within(p.filed_at) and p.state in P_FILED),
        sum(1 for p in data.proposals if within(p.answered_at) and p.state == "answered"),
    )


def naive_proposal_action(data: Everything):  # type: ignore[no-untyped-def]
    from bot.services.figures import days_between
    from bot.services.proposals.figures import DUE_SOON_DAYS, RATING_WAIT, REVIEW_WAIT, ProposalAction

    now = _naive(NOW)
    out = ProposalAction()
    resubmitted: dict[int, datetime] = {}
    for step in data.proposal_steps:
        if step.kind == "resubmitted":
            resubmitted[step.proposal_id] = max(resubmitted.get(step.proposal_id, step.at), step.at)
    waiting = [resubmitted.get(p.id, p.submitted_at) for p in data.proposals if p.state == "submitted"]
    waiting = [w for w in waiting if w < now - REVIEW_WAIT]
    out.review_waiting, out.review_oldest_days = len(waiting), days_between(min(waiting, default=None), NOW)
    today = NOW.astimezone(ZONE).date()
    state = {p.id: p.state for p in data.proposals}
    for a in data.proposal_assignments:
        if state[a.proposal_id] == "assigned" and a.role in ("main", "separate") and a.state in ("assigned", "signed"):
            out.overdue += a.due_on < today
            out.due_soon += today <= a.due_on <= today + timedelta(days=DUE_SOON_DAYS)
    current: dict[int, int] = {}
    for a in data.proposal_assignments:
        if a.state != "withdrawn":
            current[a.proposal_id] = max(current.get(a.proposal_id, 0), a.round)
    raters: dict[int, int] = defaultdict(int)
    for author in data.proposal_authors:
        if author.consent in ("lead", "agreed"):
            raters[author.proposal_id] += 1
    rated: dict[int, int] = defaultdict(int)
    for r in data.proposal_ratings:
        if r.round == current.get(r.proposal_id, 1):
            rated[r.proposal_id] += 1
    unrated = [p.answered_at for p in data.proposals if p.state == "answered" and p.answered_at < now - RATING_WAIT
               and rated[p.id] < raters[p.id]]  # fmt: skip
    out.unrated, out.unrated_oldest_days = len(unrated), days_between(min(unrated, default=None), NOW)
    return out


def naive_points(data: Everything, period, rules) -> dict[int, float]:  # type: ignore[no-untyped-def]
    raw: dict[tuple[int, str], float] = defaultdict(float)
    for r in data.reports:
        if r.status == "confirmed" and period.first_day <= r.activity_date < period.end_day:
            raw[(r.member_id, r.type_code)] += r.points
    total: dict[int, float] = defaultdict(float)
    for (member, code), value in raw.items():
        activity = rules.activities.get(code)
        total[member] += _capped(value, activity.cap if activity else None)
    for member, entry in naive_info_points(data, period.db_start, period.db_end, rules).items():
        total[member] += entry[2]
    for member, entry in naive_proposal_points(data, period, rules).items():
        total[member] += entry[2]
    return total


def naive_meets(data: Everything, requirement: dict, period, rules) -> set[int]:  # type: ignore[no-untyped-def]
    kind = requirement.get("type")
    if kind == "info":
        counts: dict[int, int] = defaultdict(int)
        inside = {i.id for i in data.items if period.db_start <= i.submitted_at < period.db_end}
        for a in data.authors:
            if a.item_id in inside:
                counts[a.member_id] += 1
        return {m for m, n in counts.items() if n >= int(requirement.get("count", 1))}
    if kind == "activity":
        states = {"confirmed"} if requirement.get("confirmed_only") else {"confirmed", "pending"}
        code = requirement.get("code")
        own = {k for k in rules.assessment.minimums if k not in ("activity", "info")}
        counts = defaultdict(int)
        for r in data.reports:
            if (
                r.status in states
                and r.attendance not in ("leave", "absent")
                and (r.type_code == code if code else r.type_code not in own)
                and period.first_day <= r.activity_date < period.end_day
            ):
                counts[r.member_id] += 1
        return {m for m, n in counts.items() if n >= int(requirement.get("count", 1))}
    if kind == "proposal":
        states = set(P_FILED) | (set() if requirement.get("confirmed_only") else {"cosigning", "submitted"})
        inside = {p.id for p in data.proposals if p.state in states and period.db_start <= p.submitted_at < period.db_end}
        counts = defaultdict(int)
        for a in data.proposal_authors:
            if a.proposal_id in inside and a.consent in ("lead", "agreed"):
                counts[a.member_id] += 1
        return {m for m, n in counts.items() if n >= int(requirement.get("count", 1))}
    minimum = float(requirement.get("min", 0))
    totals = naive_points(data, period, rules)
    return {m.id for m in data.members if totals.get(m.id, 0.0) >= minimum}


def naive_shortfall(data: Everything, requirements: list[dict], period, rules):  # type: ignore[no-untyped-def]
    from bot.services.figures import Shortfall

    met = [naive_meets(data, r, period, rules) for r in requirements]
    failing = sorted((m.name, m.id) for m in data.members
                     if m.active and data.is_member[m.id] and any(m.id not in s for s in met))  # fmt: skip
    return Shortfall(count=len(failing), names=[name for name, _ in failing[:10]])


def naive_held(event, start: datetime, end: datetime) -> bool:  # type: ignore[no-untyped-def]
    return start <= event.starts_at < end and (
        event.status == "closed" or (event.status == "published" and event.starts_at < _naive(NOW))
    )


def naive_attended(inv) -> bool:  # type: ignore[no-untyped-def]
    return inv.attendance == "present" or (inv.attendance is None and inv.checked_in_at is not None)


def naive_info_stats(data: Everything, start: datetime, end: datetime) -> dict:
    kinds: dict[str, set[int]] = defaultdict(set)
    levels: dict[str, set[int]] = defaultdict(set)
    for s in data.steps:
        if start <= s.at < end:
            kinds[s.kind].add(s.item_id)
            if s.kind == "reported":
                levels[s.level].add(s.item_id)
    return {
        "kinds": {k: len(v) for k, v in kinds.items()},
        "levels": {lv: len(levels.get(lv, ())) for lv in LEVELS},
    }


def naive_week(data: Everything, week):  # type: ignore[no-untyped-def]
    from bot.services.digest import Count, WeekNumbers

    period = week.period(ZONE)
    start, end = period.db_start, period.db_end
    out = WeekNumbers()
    for r in data.reports:
        if start <= r.submitted_at < end and data.is_member[r.member_id] and r.attendance not in ("leave", "absent"):
            m = data.member[r.member_id]
            ok = 1 if r.status == "confirmed" else 0
            for table, key in (
                (out.by_type, r.type_code),
                (out.by_committee, m.committee),
                (out.by_sector, m.sector),
            ):
                entry = table.setdefault(key, Count())
                entry.submitted += 1
                entry.confirmed += ok
            out.reports.submitted += 1
            out.reports.confirmed += ok
    stats = naive_info_stats(data, start, end)
    out.info_submitted = stats["kinds"].get("submitted", 0)
    out.info_accepted = stats["kinds"].get("accepted", 0)
    out.info_transferred = stats["kinds"].get("transferred", 0)
    out.info_instructions = stats["kinds"].get("instruction", 0)
    out.info_reported = stats["levels"]
    held = {e.id for e in data.events if naive_held(e, start, end)}
    out.events_held = len(held)
    for inv in data.invitations:
        if inv.event_id in held and data.is_member[inv.member_id]:
            out.invited += 1
            out.attended += naive_attended(inv)
    out.newly_bound = sum(1 for m in data.members
                          if m.bound_at is not None and start <= m.bound_at < end and data.is_member[m.id])  # fmt: skip
    return out


def naive_digest(data: Everything, rules) -> dict:  # type: ignore[no-untyped-def]
    from bot.core.clock import local
    from bot.services.digest import REVIEW_WAIT, DeadlineShort, Digest, NeedsAction, Upcoming, digest_week_for
    from bot.services.figures import Period, Shortfall, days_between, minimums_requirements

    week = digest_week_for(NOW, ZONE)
    now = _naive(NOW)
    cutoff = now - REVIEW_WAIT
    action = NeedsAction()
    waiting = [r.submitted_at for r in data.reports if r.status == "pending" and r.submitted_at < cutoff]
    action.reports_waiting, action.reports_oldest_days = (
        len(waiting),
        days_between(min(waiting, default=None), NOW),
    )
    waiting = [
        i.last_submitted_at for i in data.items if i.state == "submitted" and i.last_submitted_at < cutoff
    ]
    action.info_waiting, action.info_oldest_days = len(waiting), days_between(min(waiting, default=None), NOW)
    answered = {s.item_id for s in data.steps if s.kind == "feedback"}
    transfers = [s for s in data.steps if s.kind == "transferred" and s.item_id not in answered]
    action.awaiting_reply = len({s.item_id for s in transfers})
    action.awaiting_oldest_days = days_between(min((s.at for s in transfers), default=None), NOW)

    def members(pred) -> Shortfall:  # type: ignore[no-untyped-def]
        chosen = sorted((m.name, m.id) for m in data.members if m.active and data.is_member[m.id] and pred(m))
        return Shortfall(count=len(chosen), names=[name for name, _ in chosen[:10]])

    action.blocked = members(lambda m: m.telegram_user_id is not None and not m.reachable)
    action.unbound = members(lambda m: m.telegram_user_id is None)
    today = NOW.astimezone(ZONE).date()
    horizon = today + timedelta(days=30)
    for d in sorted(data.deadlines, key=lambda d: d.due_on):
        if d.status == "active" and today <= d.due_on <= horizon:
            requirement = d.requirement if isinstance(d.requirement, dict) else json.loads(d.requirement)
            short = naive_shortfall(data, [requirement], Period.of_year(d.due_on.year, ZONE), rules)
            if short.count:
                action.deadlines.append(DeadlineShort(d.title, d.due_on, (d.due_on - today).days, short))
    if date(today.year, 12, 31) <= horizon:
        short = naive_shortfall(data, minimums_requirements(rules), Period.of_year(today.year, ZONE), rules)
        if short.count:
            action.period_end, action.minimums = date(today.year, 12, 31), short
    _, end = week.bounds(ZONE)
    begin = _naive(max(end, NOW))
    finish = begin + timedelta(days=7)
    soon = sorted(
        (e for e in data.events if e.status == "published" and begin <= e.starts_at < finish),
        key=lambda e: (e.starts_at, e.id),
    )[:15]
    answers: dict[int, list[int]] = {e.id: [0, 0, 0] for e in soon}
    for inv in data.invitations:
        if inv.event_id in answers:
            answers[inv.event_id][0] += 1
            answers[inv.event_id][1] += inv.answer == "attend"
            answers[inv.event_id][2] += inv.answer == "leave"
    upcoming = [Upcoming(e.title, local(e.starts_at, ZONE), *answers[e.id]) for e in soon]
    action.proposals = naive_proposal_action(data)
    current, previous = naive_week(data, week), naive_week(data, week.previous())
    current.proposals = naive_proposal_week(data, week.period(ZONE))
    previous.proposals = naive_proposal_week(data, week.previous().period(ZONE))
    digest = Digest(
        week=week,
        generated_at=NOW,
        action=action,
        current=current,
        previous=previous,
        upcoming=upcoming,
        proposals_year=naive_proposal_figures(data, week.sunday.year),
    )
    return digest.as_dict()


def naive_members(data: Everything, rules) -> list[dict]:  # type: ignore[no-untyped-def]
    from bot.services.figures import Period

    period = Period.of_year(YEAR, ZONE)
    minimums = rules.assessment.minimums
    own = set(minimums) - {"activity", "info", "proposal"}
    raw: dict[tuple[int, str], list] = defaultdict(lambda: [0.0, 0, 0])
    states: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    att: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in data.reports:
        if not period.first_day <= r.activity_date < period.end_day:
            continue
        if r.attendance not in ("leave", "absent"):  # a leave or absence record is no report (took part)
            states[r.member_id][r.status] += 1
        if r.status == "confirmed":
            entry = raw[(r.member_id, r.type_code)]
            entry[0] += r.points
            entry[1] += 1
            entry[2] += r.attendance not in ("leave", "absent")
            if r.attendance is not None:
                att[r.member_id][r.attendance] += 1
    info = naive_info_points(data, period.db_start, period.db_end, rules)
    proposals = naive_proposal_points(data, period, rules)
    held = {e.id for e in data.events if naive_held(e, period.db_start, period.db_end)}
    invited: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for inv in data.invitations:
        if inv.event_id in held:
            invited[inv.member_id][0] += 1
            invited[inv.member_id][1] += naive_attended(inv)
    out = []
    for m in sorted(data.members, key=lambda m: m.id):
        if not (m.active and data.is_member[m.id]):
            continue
        rec = {
            "member_id": m.id,
            "name": m.name,
            "sector": m.sector,
            "committee": m.committee,
            "active": True,
            "bound": m.telegram_user_id is not None,
        }
        total = 0.0
        attended_any = 0
        for code, activity in rules.activities.items():
            points, n, attended = raw.get((m.id, code), (0.0, 0, 0))
            points = _capped(points, activity.cap)
            rec[f"p_{code}"], rec[f"n_{code}"], rec[f"a_{code}"] = round(points, 2), n, attended
            attended_any += attended if code not in own else 0
            total += points
        submitted, first, info_points = info.get(m.id, (0, 0, 0.0))
        credited, led, proposal_points = proposals.get(m.id, (0, 0, 0.0))
        rec.update(
            info_submitted=submitted,
            info_first=first,
            info_points=round(info_points, 2),
            proposals=credited,
            proposals_led=led,
            proposal_points=round(proposal_points, 2),
            activity_points=round(total, 2),
            total=round(total + round(info_points, 2) + round(proposal_points, 2), 2),
        )
        for status in ("confirmed", "pending", "returned"):
            rec[f"reports_{status}"] = states[m.id].get(status, 0)
        for status in ("present", "leave", "absent"):
            rec[f"att_{status}"] = att[m.id].get(status, 0)
        rec["events_invited"], rec["events_attended"] = invited.get(m.id, (0, 0))
        rec["passed"] = rec["total"] >= rules.assessment.pass_mark
        rec["excellent"] = rec["total"] >= rules.assessment.excellent_mark
        rec["owed"] = [
            key
            for key, required in minimums.items()
            if (submitted if key == "info" else attended_any if key == "activity" else credited if key == "proposal"
                else rec.get(f"a_{key}", 0)) < required
        ]
        out.append(rec)
    return out


def naive_annual(data: Everything, rules) -> dict:  # type: ignore[no-untyped-def]
    from bot.services.annual import GROUPS, AnnualFigures, CommitteeFigures, GroupFigures
    from bot.services.figures import Period

    period = Period.of_year(YEAR, ZONE)
    out = AnnualFigures(year=YEAR)
    active = [m for m in data.members if m.active and data.is_member[m.id]]
    out.members, out.bound = len(active), sum(1 for m in active if m.telegram_user_id is not None)
    members_of: dict[str, set[int]] = defaultdict(set)
    for r in data.reports:
        if (
            r.status == "confirmed"
            and period.first_day <= r.activity_date < period.end_day
            and r.attendance not in ("leave", "absent")
            and data.is_member[r.member_id]
        ):
            out.by_type[r.type_code] = out.by_type.get(r.type_code, 0) + 1
            members_of[r.type_code].add(r.member_id)
    held = {e.id: e.kind for e in data.events if naive_held(e, period.db_start, period.db_end)}
    by_kind: dict[str, list[int]] = {kind: [0, 0, 0] for kind in set(held.values())}
    for kind in held.values():
        by_kind[kind][0] += 1
    for inv in data.invitations:
        if inv.event_id in held and data.is_member[inv.member_id]:
            entry = by_kind[held[inv.event_id]]
            entry[1] += 1
            entry[2] += naive_attended(inv)
    for n, invited, attended in by_kind.values():
        out.events_held += n
        out.event_invitations += invited
        out.event_attendances += attended
    for name, codes in GROUPS.items():
        group = GroupFigures()
        for code in codes:
            n, _invited, attended = by_kind.get(code, (0, 0, 0))
            group.events += n
            group.event_attendances += attended
            group.participations += out.by_type.get(code, 0)
        group.members = len(set().union(*(members_of.get(c, set()) for c in codes)))
        out.groups[name] = group
    stats = naive_info_stats(data, period.db_start, period.db_end)
    kinds = stats["kinds"]
    out.info_collected, out.info_accepted = kinds.get("submitted", 0), kinds.get("accepted", 0)
    out.info_reported = stats["levels"]
    out.info_transferred, out.info_instructions = kinds.get("transferred", 0), kinds.get("instruction", 0)
    out.info_feedback = kinds.get("feedback", 0)
    for m in active:
        out.by_committee.setdefault(m.committee or "", CommitteeFigures()).members += 1
    reports: dict[str, list] = defaultdict(lambda: [0, set()])
    for r in data.reports:
        if (r.status == "confirmed" and period.first_day <= r.activity_date < period.end_day
                and r.attendance not in ("leave", "absent") and data.is_member[r.member_id]):  # fmt: skip
            committee = data.member[r.member_id].committee or ""
            reports[committee][0] += 1
            reports[committee][1].add(r.member_id)
    for committee, (n, who) in reports.items():
        entry = out.by_committee.setdefault(committee, CommitteeFigures())
        entry.reports, entry.reporting = n, len(who)
    totals = naive_points(data, period, rules)
    out.passed = sum(1 for m in active if totals.get(m.id, 0.0) >= rules.assessment.pass_mark)
    out.excellent = sum(1 for m in active if totals.get(m.id, 0.0) >= rules.assessment.excellent_mark)
    return out.as_dict()


def naive_review(data: Everything, rules) -> dict:  # type: ignore[no-untyped-def]
    """The year in review's figures, each heading of the rules file counted in Python."""
    from bot.services.figures import Period
    from bot.services.year_review import INFO_KINDS, HeadingResult, YearReview, proposal_value

    period = Period.of_year(YEAR, ZONE)
    in_days = lambda day: period.first_day <= day < period.end_day  # noqa: E731
    is_member = {m.id: m.role == "member" or bool(m.also_member) for m in data.members}
    tags: dict[int, set[str]] = defaultdict(set)
    for row in data.tags:
        tags[row.event_id].add(row.tag)
    guests: dict[int, int] = defaultdict(int)
    for row in data.guests:
        guests[row.event_id] += 1
    held = [e for e in data.events if naive_held(e, period.db_start, period.db_end)]
    reports = [r for r in data.reports if r.status == "confirmed" and in_days(r.activity_date)
               and r.attendance not in ("leave", "absent") and is_member.get(r.member_id)]  # fmt: skip

    def events_of(f) -> list:  # type: ignore[no-untyped-def]
        return [e for e in held if (not f.kinds or e.kind in f.kinds) and (not f.tags or tags[e.id] & set(f.tags))
                and (not f.organisers or e.organiser in f.organisers) and (not f.units or e.organiser_unit in f.units)
                and (f.audience != "staff" or e.audience_kind == "staff")
                and (f.audience != "members" or e.audience_kind != "staff")
                and (not f.with_guests or guests[e.id] > 0)]  # fmt: skip

    def present(f) -> list:  # type: ignore[no-untyped-def]
        chosen = {e.id: e for e in events_of(f)}
        return [i for i in data.invitations if i.event_id in chosen and naive_attended(i)
                and (chosen[i.event_id].audience_kind == "staff" or is_member.get(i.member_id))]  # fmt: skip

    def reports_of(f) -> list:  # type: ignore[no-untyped-def]
        return [r for r in reports if not f.types or r.type_code in f.types]

    def value(f):  # type: ignore[no-untyped-def]
        if f.count == "events":
            return len(events_of(f))
        if f.count == "attendances":
            return len(present(f))
        if f.count == "attendees":
            return len({i.member_id for i in present(f)})
        if f.count == "guests":
            return sum(guests[e.id] for e in events_of(f))
        if f.count == "reports":
            return len(reports_of(f))
        if f.count == "reporters":
            return len({r.member_id for r in reports_of(f)})
        if f.count == "quantity":
            events = {e.id for e in events_of(f)} if "events" in f.sources else set()
            owned = {r.id for r in reports_of(f)} if "reports" in f.sources else set()
            return sum(q.amount for q in data.quantities if q.code == f.quantity
                       and (q.event_id in events or q.report_id in owned))  # fmt: skip
        if f.count == "documents":
            return sum(1 for d in data.documents if d.kind in f.documents and in_days(d.on_date)
                       and (not f.instructed or d.instruction_by is not None))  # fmt: skip
        if f.count == "log":
            return sum(e.count for e in data.log if e.kind in f.log and in_days(e.on_date) and (e.marked or not f.marked))
        if f.count == "info":
            return len({s.item_id for s in data.steps if s.kind == INFO_KINDS[f.info]
                        and period.db_start <= s.at < period.db_end and (not f.levels or s.level in f.levels)
                        and (f.target != "hotline" or "12345" in (s.target or ""))
                        and (f.target != "departments" or "12345" not in (s.target or ""))})  # fmt: skip
        if f.count == "roster":
            serving = [m for m in data.members if m.active and is_member[m.id]]
            if f.roster == "serving":
                return len(serving)
            if f.roster == "bound":
                return sum(1 for m in serving if m.telegram_user_id is not None)
            mark = rules.assessment.pass_mark if f.roster == "passed" else rules.assessment.excellent_mark
            totals = naive_points(data, period, rules)
            return sum(1 for m in serving if totals.get(m.id, 0.0) >= mark)
        return proposal_value(proposals, f)

    proposals = naive_proposal_figures(data, YEAR)
    out = YearReview(year=YEAR)
    for heading in rules.review.headings:
        out.headings.append(HeadingResult(heading, {f.name: value(f) for f in heading.figures}))
    return out.as_dict()


async def naive(operation: str, session, rules):  # type: ignore[no-untyped-def]
    data = await Everything().load(session)
    if operation == "digest":
        return naive_digest(data, rules)
    if operation == "annual":
        return naive_annual(data, rules)
    if operation == "review":
        return naive_review(data, rules)
    if operation == "proposals":
        return naive_proposal_figures(data, YEAR).as_dict()
    return naive_members(data, rules)


# --------------------------------------------------------------------------- measuring


def fingerprint(value) -> str:  # type: ignore[no-untyped-def]
    return hashlib.sha256(
        json.dumps(value, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()


def peak_mb() -> float:
    """This process's peak resident memory. VmHWM belongs to the process image (ru_maxrss on Linux
    is carried over from the parent across fork and exec, so it would count the generator's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(operation: str, impl: str, url: str) -> None:
    """In a subprocess: run the operation once to warm up, then timed; print JSON."""
    from bot.core.rules import load_rules
    from models.db import Database

    rules = load_rules(ROOT / "bot" / "core" / "rules.default.toml")

    async def main() -> tuple[float, object, float]:
        db = Database(url)
        try:
            async with db.session() as session:  # connect and load the schema before timing
                from sqlalchemy import text

                await session.exec(text("SELECT 1"))
            baseline = peak_mb()
            best = float("inf")
            result: object = None
            for _ in range(2):
                started = time.perf_counter()
                async with db.session() as session:
                    if impl == "sql":
                        fn = {"digest": sql_digest, "annual": sql_annual, "review": sql_review,
                              "members": sql_members, "proposals": sql_proposals}[operation]  # fmt: skip
                        result = await fn(session, rules)
                    else:
                        result = await naive(operation, session, rules)
                best = min(best, time.perf_counter() - started)
            return best, result, baseline
        finally:
            await db.dispose()

    seconds, result, baseline = asyncio.run(main())
    peak = peak_mb()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak,
                "baseline_mb": baseline,
                "hash": fingerprint(result),
                "summary": summary(operation, result),
            }
        )
    )


def summary(operation: str, result) -> str:  # type: ignore[no-untyped-def]
    if operation == "digest":
        cur, action = result["current"], result["action"]
        return (
            f"week {result['week']}: {cur['reports']['submitted']} reports, {cur['info_submitted']} info, "
            f"{cur['events_held']} events; waiting {action['reports_waiting']}, "
            f"{len(action['deadlines'])} deadlines short"
        )
    if operation == "annual":
        return (
            f"{sum(result['by_type'].values())} participations, {result['info_collected']} info, "
            f"{result['events_held']} events, {result['passed']} passed"
        )
    if operation == "review":
        figures = {key: h["figures"] for key, h in result["headings"].items()}
        return (
            f"{len(figures)} headings, {sum(len(f) for f in figures.values())} figures: consultation {figures['consultation']}, "
            f"service {figures['service']}, publicity {figures['publicity']}, info upward {figures['info']['upward']}"
        )
    if operation == "proposals":
        return (f"{result['year']}: {result['submitted']} submitted, {result['filed']} filed, {result['answered']} "
                f"answered, 办复率 {result['answered_rate']}%, on time {result['on_time_rate']}%, "
                f"{result['key_count']} key")  # fmt: skip
    return f"{len(result)} members, {sum(1 for r in result if r['passed'])} passed"


def run_measurement(operation: str, impl: str, url: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--measure", operation, "--impl", impl, "--url", url],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{operation}/{impl} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--scale", choices=["district", "province", "both"], default="both")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the cached databases")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.impl, args.url)
        return

    from bot.core.rules import load_rules

    rules = load_rules(ROOT / "bot" / "core" / "rules.default.toml")
    scales = ["district", "province"] if args.scale == "both" else [args.scale]
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    failures: list[str] = []
    print(
        f"{'scale':9} {'db':9} {'figures':8} {'SQL s':>8} {'SQL MB':>7} {'naive s':>8} {'naive MB':>8} {'ratio':>6}  "
        "same  target",
        flush=True,
    )
    lines = []
    for scale_name in scales:
        scale = SCALES[scale_name]
        for db in dbs:
            url = (
                ensure_sqlite(scale, rules, args.regenerate)
                if db == "sqlite"
                else ensure_postgres(scale, rules, args.regenerate)
            )
            if url is None:
                continue
            for operation in ("digest", "annual", "review", "proposals", "members"):
                fast = run_measurement(operation, "sql", url)
                slow = run_measurement(operation, "naive", url)
                same = fast["hash"] == slow["hash"]
                limit = TARGETS[scale_name]
                timed = operation == "members" or fast["seconds"] < limit
                ok = same and timed and fast["peak_mb"] < PEAK_TARGET_MB
                line = (
                    f"{scale_name:9} {db:9} {operation:8} {fast['seconds']:8.3f} {fast['peak_mb']:7.0f} "
                    f"{slow['seconds']:8.3f} {slow['peak_mb']:8.0f} {slow['seconds'] / fast['seconds']:6.1f}  "
                    f"{'yes' if same else 'NO':4}  {'ok' if ok else 'MISSED'}"
                )
                print(line, flush=True)
                lines.append(f"  {scale_name}/{db}/{operation}: {fast['summary']}")
                if not same:
                    failures.append(f"{scale_name}/{db}/{operation}: SQL and naive numbers differ")
                if not ok and same:
                    failures.append(f"{scale_name}/{db}/{operation}: target missed")
    print("\nnumbers (identical in both versions):")
    print("\n".join(lines))
    print(
        f"\ntargets: digest, annual and review < {TARGETS['district']:.0f} s (district), < {TARGETS['province']:.0f} s "
        f"(province); peak memory (VmHWM of the measuring process) < {PEAK_TARGET_MB} MB"
    )
    if failures:
        print("\n".join(failures))
    assert not any("differ" in f for f in failures), "the SQL and naive numbers must be identical"


if __name__ == "__main__":
    main()
