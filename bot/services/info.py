"""社情民意信息 services: submission with a gap-free per-year tracking number, the review
workflow (a table of legal moves; every step a history row and a notice to every author),
a duplicate hint, statistics for any date range, and the texts that describe an item (its points
are the points engine's: bot.services.figures).

No Telegram here: handlers parse the update and call these with a session and an explicit `now`.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, distinct, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import local, to_db
from bot.core.dates import format_day, format_moment, short_day
from bot.core.i18n import t
from bot.core.refusals import Refusal
from bot.core.rules import INFO_LEVELS, Rules
from bot.services import uploads
from bot.services.outbox import enqueue, notify_member
from models import InfoAttachment, InfoAuthor, InfoEvent, InfoItem, InfoSequence, Member, ProposalSequence

TITLE_MIN, TITLE_MAX = 5, 60
BODY_MIN, BODY_MAX = 50, 3000
ADVISED_MAX = 1500  # the published guidance: one issue, facts-analysis-suggestion, ≤ 1500 characters
REASON_MAX = 500
FEEDBACK_MAX = 3000
TARGET_MAX = 60
MAX_FILE_BYTES = uploads.MAX_BYTES  # Telegram's getFile limit for bots
MAX_ATTACHMENTS = 10
MAX_COAUTHORS = 5
CARD_LIMIT = 4000  # one Telegram message (4,096) with room to spare
DUPLICATE_WINDOW = timedelta(days=90)
DUPLICATE_THRESHOLD = 0.6
DUPLICATE_SCAN = 500
DOCUMENT_MIME = {
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
DOCUMENT_EXT = (".pdf", ".doc", ".docx")
SUGGESTION_WORDS = (
    "建议",
    "对策",
    "措施",
    "应当",
    "应该",
    "希望",
    "呼吁",
    "恳请",
    "suggest",
    "recommend",
    "propose",
)
HOTLINE = "12345"

STATES = ("submitted", "accepted", "returned", "rejected")


class AlreadySubmitted(Exception):
    """The same chat draft was submitted before (a redelivered press): here is its number."""

    def __init__(self, number: str) -> None:
        super().__init__(number)
        self.number = number


class InfoError(Refusal):
    """A refusal with a catalogue key `info.err.<code>` and its parameters."""

    prefix = "info.err."
    FINAL = frozenset({"no_item", "no_member", "illegal", "illegal_*", "not_allowed", "not_yours"})
    HAND_BACK = frozenset({"title_long", "body_long", "text_long"})


@dataclass(frozen=True)
class Move:
    sources: frozenset[str]  # states the item must be in
    target: str | None  # new state; None keeps the state (steps after acceptance)
    event: str  # InfoEvent.kind written
    staff: bool = True


# The legal moves. Anything not in here (e.g. reporting upward an item never accepted) is refused.
MOVES: dict[str, Move] = {
    "accept": Move(frozenset({"submitted"}), "accepted", "accepted"),
    "return": Move(frozenset({"submitted"}), "returned", "returned"),
    "reject": Move(frozenset({"submitted"}), "rejected", "rejected"),
    "resubmit": Move(frozenset({"returned"}), "submitted", "resubmitted", staff=False),
    "report": Move(frozenset({"accepted"}), None, "reported"),
    "transfer": Move(frozenset({"accepted"}), None, "transferred"),
    "instruction": Move(frozenset({"accepted"}), None, "instruction"),
    "feedback": Move(frozenset({"accepted"}), None, "feedback"),
    # A higher level adopted the item (被全国政协采用): its own figure, apart from our 报送.
    "adopt": Move(frozenset({"accepted"}), None, "adopted"),
}
LEVEL_MOVES = ("report", "instruction", "adopt")  # moves that name a level (bot.core.rules.INFO_LEVELS)
DATED_MOVES = ("report", "transfer", "adopt")  # moves with the day the secretariat gives
STAFF_MOVES = tuple(name for name, move in MOVES.items() if move.staff)


# --------------------------------------------------------------------------- checks of input


def check_title(text: str) -> str:
    title = " ".join(text.split())
    if len(title) < TITLE_MIN:
        raise InfoError("title_short", length=len(title), min=TITLE_MIN)
    if len(title) > TITLE_MAX:
        raise InfoError("title_long", length=len(title), max=TITLE_MAX)
    return title


def check_body(text: str) -> str:
    body = text.strip()
    if len(body) < BODY_MIN:
        raise InfoError("body_short", length=len(body), min=BODY_MIN)
    if len(body) > BODY_MAX:
        raise InfoError("body_long", length=len(body), max=BODY_MAX)
    return body


def check_document(file_name: str | None, mime_type: str | None, size: int | None) -> None:
    """Only PDF and Word files of at most 20 MB (what the bot may download from Telegram)."""
    name = (file_name or "").lower()
    if (mime_type or "") not in DOCUMENT_MIME and not name.endswith(DOCUMENT_EXT):
        raise InfoError("file_kind")
    check_size(size)


def check_size(size: int | None) -> None:
    if size is not None and size > MAX_FILE_BYTES:
        raise InfoError("file_big", size=f"{size / 1024 / 1024:.1f}", max=MAX_FILE_BYTES // 1024 // 1024)


def advice(title: str, body: str) -> list[str]:
    """Catalogue keys of advice when the text looks off the published guidance (never a refusal)."""
    notes: list[str] = []
    numbered = re.findall(
        r"(?m)^\s*(?:[一二三四五六七八九十]+[、.．]|\d+[、.．)]|（[一二三四五六七八九十]+）)", body
    )
    several = len(numbered) >= 4 or len(re.findall(r"另一个问题|还有一个问题|此外还|另外还有", body)) >= 1
    if several:
        notes.append("info.advice.several")
    if len(body) > ADVISED_MAX:
        notes.append("info.advice.long")
    text = (title + body).lower()
    if not any(word in text for word in SUGGESTION_WORDS):
        notes.append("info.advice.no_suggestion")
    return notes


# --------------------------------------------------------------------------- numbering


async def next_sequence(
    session: AsyncSession, year: int, counter: type[InfoSequence] | type[ProposalSequence] = InfoSequence
) -> int:
    """The next number of `year` in `counter` (社情民意 or 提案 filing numbers), taken inside the
    caller's transaction.

    The UPDATE row-locks the counter on PostgreSQL until commit (SQLite serialises writers), so
    numbers have no duplicates; a rolled-back submission gives its number back, so no gaps either.
    Call it before reading anything in the transaction: on SQLite a transaction that read first
    cannot wait for the write lock.
    """
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.exec(
        insert(counter).values(year=year, value=0).on_conflict_do_nothing(index_elements=["year"])
    )
    result = await session.exec(
        update(counter)
        .where(col(counter.year) == year)  # type: ignore[call-overload]
        .values(value=counter.value + 1)
        .returning(counter.value)
    )
    return int(result.scalar_one())


def format_number(year: int, seq: int) -> str:
    return f"SQ-{year}-{seq:04d}"


# --------------------------------------------------------------------------- duplicates
# Similarity is the Dice coefficient of character bigrams (works for Chinese without word
# segmentation). Comparing a new text with 500 others of 3,000 characters took over half a second,
# so each item keeps, from its submission: its bigrams (for an exact comparison) and a MinHash
# signature of them (128 numbers that estimate the Jaccard overlap of two bigram sets). The check
# reads the 500 signatures (64 KB, not 10 MB of text), and only the few items whose estimate comes
# near the threshold are compared exactly.

SIGNATURE_SIZE = 128
_PRIME = 2**31 - 1
_SEEDS = np.random.default_rng(20251208)  # fixed: stored signatures were made with these numbers
_MULTIPLY = _SEEDS.integers(1, _PRIME, SIGNATURE_SIZE, dtype=np.uint64)
_ADD = _SEEDS.integers(0, _PRIME, SIGNATURE_SIZE, dtype=np.uint64)
# Dice 0.6 is Jaccard 0.43; the estimate's spread at 128 values is ±0.044, so an item estimated
# below 0.25 (4 spreads lower) is not a duplicate.
CANDIDATE_JACCARD = 0.25


def _bigrams(text: str) -> set[str]:
    letters = re.sub(r"[\W_]+", "", text.lower())
    return {letters[i : i + 2] for i in range(len(letters) - 1)}


def _dice(first: set[str], second: set[str]) -> float:
    if not first or not second:
        return 0.0
    return 2 * len(first & second) / (len(first) + len(second))


def signature(grams: set[str]) -> bytes:
    """The MinHash signature of a bigram set: for each of 128 hash functions, the least hash."""
    if not grams:
        return bytes(4 * SIGNATURE_SIZE)
    codes = np.fromiter(((ord(g[0]) << 21) | ord(g[1]) for g in grams), dtype=np.uint64, count=len(grams))
    hashed = (_MULTIPLY[:, None] * (codes % _PRIME)[None, :] + _ADD[:, None]) % _PRIME
    least: bytes = hashed.min(axis=1).astype("<u4").tobytes()
    return least


@dataclass(frozen=True)
class Fingerprint:
    """What an item keeps for the duplicate check (InfoItem.bigrams, InfoItem.signature)."""

    grams: set[str]
    signature: bytes

    @property
    def text(self) -> str:
        return " ".join(sorted(self.grams))  # a bigram never holds a space


def fingerprint(title: str, body: str) -> Fingerprint:
    grams = _bigrams(title + body)
    return Fingerprint(grams, signature(grams))


def _candidates(wanted: bytes, signatures: list[bytes]) -> list[int]:
    """Indexes of the signatures whose estimated overlap with `wanted` may reach the threshold."""
    if not signatures:
        return []
    table = np.frombuffer(b"".join(signatures), dtype="<u4").reshape(len(signatures), SIGNATURE_SIZE)
    estimate = (table == np.frombuffer(wanted, dtype="<u4")).mean(axis=1)
    return [int(i) for i in np.flatnonzero(estimate >= CANDIDATE_JACCARD)]


async def find_duplicate(
    session: AsyncSession, title: str, body: str, now: datetime, exclude_id: int | None = None
) -> str | None:
    """The number of the most similar item of the last 90 days (any author), if very similar."""
    return await _similar(session, await asyncio.to_thread(fingerprint, title, body), now, exclude_id)


async def _similar(
    session: AsyncSession, new: Fingerprint, now: datetime, exclude_id: int | None
) -> str | None:
    recent = (
        select(InfoItem.id, InfoItem.number, InfoItem.signature)
        .where(col(InfoItem.submitted_at) >= to_db(now - DUPLICATE_WINDOW))
        .order_by(col(InfoItem.submitted_at).desc())
        .limit(DUPLICATE_SCAN)
    )
    rows = [row for row in (await session.exec(recent)).all() if row[0] != exclude_id]
    computed: dict[int | None, Fingerprint] = {}  # items stored before fingerprints were kept
    missing = [item_id for item_id, _number, stored in rows if stored is None]
    if missing:
        texts = select(InfoItem.id, InfoItem.title, InfoItem.body).where(col(InfoItem.id).in_(missing))
        for item_id, old_title, old_body in (await session.exec(texts)).all():
            computed[item_id] = await asyncio.to_thread(fingerprint, old_title, old_body)
    signatures = [
        stored if stored is not None else computed[item_id].signature for item_id, _n, stored in rows
    ]
    near = [rows[i] for i in await asyncio.to_thread(_candidates, new.signature, signatures)]
    if not near:
        return None
    stored_grams = select(InfoItem.id, InfoItem.bigrams).where(col(InfoItem.id).in_([row[0] for row in near]))
    grams = {item_id: set((text or "").split()) for item_id, text in (await session.exec(stored_grams)).all()}
    grams.update({item_id: found.grams for item_id, found in computed.items()})
    scored = [(_dice(new.grams, grams[item_id]), number) for item_id, number, _s in near]
    best = max(scored)
    return best[1] if best[0] >= DUPLICATE_THRESHOLD else None


async def _duplicate_unlocked(
    session: AsyncSession, new: Fingerprint, now: datetime, exclude_id: int | None = None
) -> str | None:
    """The duplicate check in a transaction of its own, before the caller's takes the year's number
    or an item's row lock: no submission waits on a lock while texts are compared."""
    async with AsyncSession(session.bind, expire_on_commit=False) as reader:
        return await _similar(reader, new, now, exclude_id)


# --------------------------------------------------------------------------- submission


@dataclass
class AttachmentIn:
    kind: str  # photo / document
    file_id: str
    file_unique_id: str = ""
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None
    caption: str | None = None

    def stored(self) -> dict[str, Any]:
        """The columns every attachment table keeps of a file (社情民意 and proposals alike)."""
        return {"kind": self.kind, "file_id": self.file_id, "file_unique_id": self.file_unique_id or "",
                "file_name": self.file_name, "mime_type": self.mime_type, "file_size": self.file_size}

    @classmethod
    def from_dict(cls, data: dict) -> AttachmentIn:
        fields: dict[str, Any] = {
            k: data.get(k)
            for k in ("kind", "file_id", "file_unique_id", "file_name", "mime_type", "file_size", "caption")
        }
        return cls(**fields)


async def _valid_coauthors(session: AsyncSession, author_id: int, coauthor_ids: list[int]) -> list[int]:
    wanted = [i for i in dict.fromkeys(coauthor_ids) if i != author_id][:MAX_COAUTHORS]
    if not wanted:
        return []
    query = select(Member.id).where(col(Member.id).in_(wanted), Member.is_active_member)
    found = set((await session.exec(query)).all())
    return [i for i in wanted if i in found]


async def _set_parts(
    session: AsyncSession, item: InfoItem, coauthor_ids: list[int], attachments: list[AttachmentIn]
) -> None:
    assert item.id is not None
    await session.exec(delete(InfoAuthor).where(col(InfoAuthor.item_id) == item.id))
    await session.exec(delete(InfoAttachment).where(col(InfoAttachment.item_id) == item.id))
    session.add(InfoAuthor(item_id=item.id, member_id=item.author_id, position=0))
    for position, member_id in enumerate(
        await _valid_coauthors(session, item.author_id, coauthor_ids), start=1
    ):
        session.add(InfoAuthor(item_id=item.id, member_id=member_id, position=position))
    for att in attachments[:MAX_ATTACHMENTS]:
        session.add(InfoAttachment(item_id=item.id, caption=att.caption, **att.stored()))
    await session.flush()


async def number_of_draft(session: AsyncSession, draft_key: str | None) -> str | None:
    """The number of the item submitted from the chat draft `draft_key`, if it was."""
    if draft_key is None:
        return None
    return (await session.exec(select(InfoItem.number).where(InfoItem.draft_key == draft_key))).first()


async def submit(
    session: AsyncSession,
    *,
    author_id: int,
    title: str,
    category: str,
    body: str,
    now: datetime,
    tz: tzinfo,
    rules: Rules,
    attachments: list[AttachmentIn] | None = None,
    coauthor_ids: list[int] | None = None,
    default_lang: str = "zh",
    staff_chat_id: int | None = None,
    draft_key: str | None = None,
) -> InfoItem:
    """A new item with the next number of the local year; co-authors and the secretariat are told.
    Raises AlreadySubmitted when `draft_key` was submitted before (the number is then given back)."""
    year = local(now, tz).year
    title, body, new, duplicate_of = await _checked_text(session, title, category, body, rules=rules, now=now)
    seq = await next_sequence(session, year)  # first statement of the transaction, see next_sequence
    if (existing := await number_of_draft(session, draft_key)) is not None:
        raise AlreadySubmitted(existing)
    author = await session.get(Member, author_id)
    if author is None or not author.active:
        raise InfoError("no_member")
    item = InfoItem(
        number=format_number(year, seq),
        year=year,
        seq=seq,
        author_id=author_id,
        title=title,
        body=body,
        category=category,
        state="submitted",
        submitted_at=to_db(now),
        last_submitted_at=to_db(now),
        updated_at=to_db(now),
        draft_key=draft_key,
        duplicate_of=duplicate_of,
        bigrams=new.text,
        signature=new.signature,
    )
    session.add(item)
    await session.flush()
    await _submitted(session, item, "submitted", author, coauthor_ids=coauthor_ids, attachments=attachments,
                     now=now, default_lang=default_lang, staff_chat_id=staff_chat_id)  # fmt: skip
    return item


async def resubmit(
    session: AsyncSession,
    *,
    item_id: int,
    actor: Member,
    title: str,
    category: str,
    body: str,
    now: datetime,
    rules: Rules,
    attachments: list[AttachmentIn] | None = None,
    coauthor_ids: list[int] | None = None,
    default_lang: str = "zh",
    staff_chat_id: int | None = None,
) -> InfoItem:
    """A returned item revised by one of its authors goes back to the queue with its number."""
    title, body, new, duplicate_of = await _checked_text(session, title, category, body, rules=rules, now=now,
                                                         exclude_id=item_id)  # fmt: skip
    item = await _lock_item(session, item_id)
    await _check_move(session, item, "resubmit", actor)
    item.title, item.body, item.category, item.state = title, body, category, "submitted"
    item.last_submitted_at = item.updated_at = to_db(now)
    item.duplicate_of, item.bigrams, item.signature = duplicate_of, new.text, new.signature
    session.add(item)
    await _submitted(session, item, "resubmitted", actor, coauthor_ids=coauthor_ids, attachments=attachments,
                     now=now, default_lang=default_lang, staff_chat_id=staff_chat_id)  # fmt: skip
    return item


async def _checked_text(
    session: AsyncSession, title: str, category: str, body: str, *, rules: Rules, now: datetime,
    exclude_id: int | None = None,
) -> tuple[str, str, Fingerprint, str | None]:
    """Title and body as they are stored (else InfoError, as for a category the rules do not
    list), their fingerprint, and the number of a very similar recent item other than `exclude_id`."""
    title, body = check_title(title), check_body(body)
    if category not in rules.info.categories:
        raise InfoError("category")
    new = await asyncio.to_thread(fingerprint, title, body)
    return title, body, new, await _duplicate_unlocked(session, new, now, exclude_id)


async def _submitted(
    session: AsyncSession, item: InfoItem, kind: str, actor: Member, *, coauthor_ids: list[int] | None,
    attachments: list[AttachmentIn] | None, now: datetime, default_lang: str, staff_chat_id: int | None,
) -> None:
    """The item (sent by `actor`) with its co-authors and attachments, its `kind` step recorded,
    the co-authors and the secretariat told."""
    await _set_parts(session, item, coauthor_ids or [], attachments or [])
    event = await _record(session, item, kind, actor_id=actor.id, now=now)
    await _notify(session, item, event, actor=actor, now=now, default_lang=default_lang)
    if staff_chat_id is not None:
        await _tell_secretariat(session, item, event, staff_chat_id, now, default_lang, actor.name)


# --------------------------------------------------------------------------- workflow


async def _lock_item(session: AsyncSession, item_id: int) -> InfoItem:
    # FOR UPDATE: two secretaries pressing at once move the item one after the other (ignored on SQLite,
    # which serialises writers anyway).
    item = (await session.exec(select(InfoItem).where(InfoItem.id == item_id).with_for_update())).first()
    if item is None:
        raise InfoError("no_item")
    return item


async def author_ids(session: AsyncSession, item_id: int) -> list[int]:
    query = (
        select(InfoAuthor.member_id).where(InfoAuthor.item_id == item_id).order_by(col(InfoAuthor.position))
    )
    return list((await session.exec(query)).all())


async def reported_levels(session: AsyncSession, item_id: int, kind: str = "reported") -> set[str]:
    """The levels an item was reported to (or, with kind="adopted", adopted at)."""
    query = select(InfoEvent.level).where(InfoEvent.item_id == item_id, InfoEvent.kind == kind)
    return {level for level in (await session.exec(query)).all() if level}


async def _check_move(session: AsyncSession, item: InfoItem, name: str, actor: Member) -> Move:
    move = MOVES.get(name)
    if move is None:
        raise InfoError("illegal")
    if move.staff and not actor.is_staff:
        raise InfoError("not_allowed")
    if not move.staff:
        assert item.id is not None
        if actor.id not in await author_ids(session, item.id):
            raise InfoError("not_yours")
    if item.state not in move.sources:
        raise InfoError(f"illegal_{name}", number=item.number)
    return move


def legal_moves(state: str) -> list[str]:
    """Secretariat moves open in `state`, in button order."""
    return [name for name in STAFF_MOVES if state in MOVES[name].sources]


async def apply_move(
    session: AsyncSession,
    *,
    item_id: int,
    move: str,
    actor: Member,
    now: datetime,
    tz: tzinfo,
    level: str | None = None,
    on_date: date | None = None,
    target: str | None = None,
    text: str | None = None,
    new_title: str | None = None,
    new_body: str | None = None,
    default_lang: str = "zh",
) -> tuple[InfoItem, InfoEvent]:
    """One secretariat step on an item, checked against MOVES and the item's current state in the
    database (never against what a button claims). Writes the history row and the authors' notices."""
    item = await _lock_item(session, item_id)
    spec = await _check_move(session, item, move, actor)
    assert item.id is not None
    text = (text or "").strip() or None
    today = local(now, tz).date()
    if move in ("return", "reject"):
        if not text:
            raise InfoError("reason_missing")
        if len(text) > REASON_MAX:
            raise InfoError("text_long", length=len(text), max=REASON_MAX)
    if move == "feedback":
        if not text:
            raise InfoError("feedback_missing")
        if len(text) > FEEDBACK_MAX:
            raise InfoError("text_long", length=len(text), max=FEEDBACK_MAX)
    if move in LEVEL_MOVES and level not in INFO_LEVELS:
        raise InfoError("level")
    if move == "report" and level in await reported_levels(session, item.id):
        raise InfoError("already_reported", number=item.number, level=level)
    if move == "adopt" and level in await reported_levels(session, item.id, kind="adopted"):
        adopted_at = level
        raise InfoError(
            "already_adopted", number=item.number, level=lambda lang: level_label(adopted_at, lang)
        )
    if move == "transfer":
        target = (target or "").strip()
        if not target:
            raise InfoError("target_missing")
        if len(target) > TARGET_MAX:
            raise InfoError("text_long", length=len(target), max=TARGET_MAX)
    if move in DATED_MOVES:
        on_date = on_date or today
        if on_date > today or on_date < local(item.submitted_at, tz).date():
            submitted = local(item.submitted_at, tz).date()
            raise InfoError(
                "date_range",
                submitted=lambda lang: format_day(submitted, lang, today),
                today=lambda lang: format_day(today, lang, today),
            )
    if move == "accept":
        if new_title is not None:
            new_title = check_title(new_title)
        if new_body is not None:
            new_body = check_body(new_body)
        if new_title and new_title != item.title:
            item.original_title = item.original_title or item.title
            item.title = new_title
        if new_body and new_body != item.body:
            item.original_body = item.original_body or item.body
            item.body = new_body
        edited = await asyncio.to_thread(fingerprint, item.title, item.body)
        item.bigrams, item.signature = edited.text, edited.signature
    if spec.target is not None:
        item.state = spec.target
    item.updated_at = to_db(now)
    session.add(item)
    event = await _record(
        session,
        item,
        spec.event,
        actor_id=actor.id,
        now=now,
        level=level if move in LEVEL_MOVES else None,
        target=target if move == "transfer" else None,
        on_date=on_date if move in DATED_MOVES else None,
        text=text,
    )
    await _notify(session, item, event, actor=actor, now=now, default_lang=default_lang)
    return item, event


async def _record(
    session: AsyncSession,
    item: InfoItem,
    kind: str,
    *,
    actor_id: int | None,
    now: datetime,
    level: str | None = None,
    target: str | None = None,
    on_date: date | None = None,
    text: str | None = None,
) -> InfoEvent:
    assert item.id is not None
    event = InfoEvent(
        item_id=item.id,
        kind=kind,
        actor_id=actor_id,
        level=level,
        target=target,
        on_date=on_date,
        text=text,
        at=to_db(now),
    )
    session.add(event)
    await session.flush()
    return event


def _gist(event: InfoEvent, lang: str) -> str:
    """The text of a step after its colon (「批示：…」 once, however the secretary typed it)."""
    text = (event.text or "").strip()
    if event.kind == "instruction":
        text = re.sub(r"^(领导)?批示\s*[:：]\s*", "", text)
        return t("info.gist", lang, text=text) if text else ""
    return text


def event_params(item: InfoItem, event: InfoEvent, lang: str, today: date | None = None) -> dict[str, Any]:
    return {
        "number": item.number,
        "title": item.title,
        "level": level_label(event.level, lang) if event.level else "",
        "target": event.target or "",
        "date": format_day(event.on_date, lang, today) if event.on_date else "",
        "text": _gist(event, lang),
    }


async def _notify(
    session: AsyncSession,
    item: InfoItem,
    event: InfoEvent,
    *,
    actor: Member,
    now: datetime,
    default_lang: str,
) -> None:
    """Every author but the one who acted hears of the step, once, in their own language."""
    assert item.id is not None and event.id is not None
    ids = [i for i in await author_ids(session, item.id) if i != actor.id]
    if not ids:
        return
    for member in (await session.exec(select(Member).where(col(Member.id).in_(ids)))).all():
        lang = member.language or default_lang
        await notify_member(
            session,
            member,
            f"info.notice.{event.kind}",
            dedupe_key=f"info:{item.id}:event:{event.id}:{member.id}",
            now=now,
            default_lang=default_lang,
            kind="info",
            actor=actor.name,
            **event_params(item, event, lang),
        )


async def _tell_secretariat(
    session: AsyncSession,
    item: InfoItem,
    event: InfoEvent,
    chat_id: int,
    now: datetime,
    lang: str,
    author_name: str,
) -> None:
    text = t("info.staff_new", lang, number=item.number, title=item.title, author=author_name)
    if item.duplicate_of:
        text += "\n" + t("info.duplicate", lang, number=item.duplicate_of)
    await enqueue(
        session,
        dedupe_key=f"info:{item.id}:staff:{event.id}",
        chat_id=chat_id,
        text=text,
        now=now,
        kind="info_staff",
    )


# --------------------------------------------------------------------------- reading


@dataclass
class ItemView:
    item: InfoItem
    authors: list[Member]
    attachments: list[InfoAttachment]
    events: list[InfoEvent]
    actors: dict[int, str] = field(default_factory=dict)  # who acted in the history: member id -> name

    @property
    def reported_levels(self) -> set[str]:
        return {e.level for e in self.events if e.kind == "reported" and e.level}


async def item_views(session: AsyncSession, items: list[InfoItem]) -> list[ItemView]:
    """Items with their authors, attachments and history, in three queries."""
    ids = [i.id for i in items]
    if not ids:
        return []
    authors: dict[int, list[Member]] = {i: [] for i in ids}  # type: ignore[misc]
    query = (
        select(InfoAuthor.item_id, Member)
        .join(Member, col(Member.id) == InfoAuthor.member_id)
        .where(col(InfoAuthor.item_id).in_(ids))
        .order_by(col(InfoAuthor.position))
    )
    for item_id, member in (await session.exec(query)).all():
        authors[item_id].append(member)
    files: dict[int, list[InfoAttachment]] = {i: [] for i in ids}  # type: ignore[misc]
    for att in (
        await session.exec(
            select(InfoAttachment)
            .where(col(InfoAttachment.item_id).in_(ids))
            .order_by(col(InfoAttachment.id))
        )
    ).all():
        files[att.item_id].append(att)
    history: dict[int, list[InfoEvent]] = {i: [] for i in ids}  # type: ignore[misc]
    for event in (
        await session.exec(
            select(InfoEvent)
            .where(col(InfoEvent.item_id).in_(ids))
            .order_by(col(InfoEvent.at), col(InfoEvent.id))
        )
    ).all():
        history[event.item_id].append(event)
    actor_ids = {e.actor_id for events in history.values() for e in events if e.actor_id is not None}
    actors = {
        member_id: name
        for member_id, name in (
            await session.exec(
                select(Member.id, Member.name).where(col(Member.id).in_(list(actor_ids) or [-1]))
            )
        ).all()
        if member_id is not None
    }
    return [ItemView(i, authors[i.id], files[i.id], history[i.id], actors) for i in items]  # type: ignore[index]


async def item_view(session: AsyncSession, item_id: int) -> ItemView | None:
    item = await session.get(InfoItem, item_id)
    return (await item_views(session, [item]))[0] if item else None


async def member_items(session: AsyncSession, member_id: int, limit: int = 10) -> list[ItemView]:
    """The member's own items (first author or co-author), newest first."""
    query = (
        select(InfoItem)
        .join(InfoAuthor, col(InfoAuthor.item_id) == InfoItem.id)
        .where(InfoAuthor.member_id == member_id)
        .order_by(col(InfoItem.submitted_at).desc(), col(InfoItem.id).desc())
        .limit(limit)
    )
    return await item_views(session, list((await session.exec(query)).all()))


# The secretariat's inbox follows the workflow: what waits for a decision, what was adopted and
# still has to be reported upward, what was reported or transferred and waits for feedback (an
# item transferred but not reported is in both of the last two).
INBOX_VIEWS = ("pending", "to_report", "to_feedback", "done", "returned", "rejected")
_SENT_ON = ("reported", "transferred")


def _has_event(kinds: tuple[str, ...]):  # type: ignore[no-untyped-def]
    return (
        select(InfoEvent.id)
        .where(col(InfoEvent.item_id) == InfoItem.id, col(InfoEvent.kind).in_(list(kinds)))
        .exists()
    )


def _in_view(view: str):  # type: ignore[no-untyped-def]
    state = col(InfoItem.state)
    if view == "pending":
        return state == "submitted"
    if view == "to_report":  # not yet reported upward (a transfer to a department is not a 报送)
        return (state == "accepted") & ~_has_event(("reported",))
    if view == "to_feedback":
        return (state == "accepted") & _has_event(_SENT_ON) & ~_has_event(("feedback",))
    if view == "done":
        return (state == "accepted") & _has_event(("feedback",))
    return state == view  # returned, rejected


async def _page(session: AsyncSession, where, *, offset: int, limit: int) -> tuple[list[ItemView], int]:  # type: ignore[no-untyped-def]
    """Items matching `where`, newest first (by their last submission), and how many match."""
    total = (await session.exec(select(func.count()).select_from(InfoItem).where(where))).one()
    query = (
        select(InfoItem)
        .where(where)
        .order_by(col(InfoItem.last_submitted_at).desc(), col(InfoItem.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return await item_views(session, list((await session.exec(query)).all())), int(total)


async def queue(
    session: AsyncSession, view: str, *, offset: int = 0, limit: int = 5
) -> tuple[list[ItemView], int]:
    """One view of the inbox (INBOX_VIEWS), newest first; and how many there are in all."""
    return await _page(session, _in_view(view), offset=offset, limit=limit)


async def view_counts(session: AsyncSession) -> dict[str, int]:
    """How many items each view of the inbox holds."""
    counts = {}
    for view in INBOX_VIEWS:
        counts[view] = int(
            (await session.exec(select(func.count()).select_from(InfoItem).where(_in_view(view)))).one()
        )
    return counts


NUMBER_PATTERN = re.compile(r"^SQ-(\d{4})-(\d{1,6})$", re.IGNORECASE)


async def find_items(
    session: AsyncSession, text: str, *, offset: int = 0, limit: int = 5
) -> tuple[list[ItemView], int]:
    """Items by number (SQ-2026-0042, any case, with or without leading zeros) or by a word of
    the title, newest first."""
    text = " ".join(text.split())[:40]
    if not text:
        return [], 0
    where: ColumnElement[bool]
    if m := NUMBER_PATTERN.match(text):
        where = (col(InfoItem.year) == int(m.group(1))) & (col(InfoItem.seq) == int(m.group(2)))
    else:
        where = col(InfoItem.title).contains(text, autoescape=True)
    return await _page(session, where, offset=offset, limit=limit)


async def search_members(
    session: AsyncSession, text: str, *, exclude: list[int], limit: int = 8
) -> tuple[list[Member], int]:
    """Serving 委员 whose name contains `text` (co-author search): the first `limit` by name,
    and how many match in all (so the member can be told to type more when there are more)."""
    text = text.strip()[:20]
    if not text:
        return [], 0
    where = (
        col(Member.name).contains(text, autoescape=True),
        Member.is_active_member,
        col(Member.id).not_in(exclude or [0]),
    )
    total = (await session.exec(select(func.count()).select_from(Member).where(*where))).one()
    query = select(Member).where(*where).order_by(col(Member.name), col(Member.id)).limit(limit)
    return list((await session.exec(query)).all()), int(total)


# --------------------------------------------------------------------------- levels and statistics


def level_label(level: str, lang: str) -> str:
    """The one name of a level (区级 / 市级 / 省级 / 全国) on cards, buttons, workbooks and figures."""
    return t(f"info.level.{level}", lang)


def highest_level(accepted: bool, levels: set[str]) -> str | None:
    """Acceptance by the committee counts as the district level; reports upward add higher ones."""
    reached = ({"district"} if accepted else set()) | levels
    ordered = [level for level in INFO_LEVELS if level in reached]
    return ordered[-1] if ordered else None


@dataclass
class InfoStats:
    """Counts of items per step recorded in a date range (each item counted once per step)."""

    submitted: int = 0
    accepted: int = 0
    rejected: int = 0  # 不予采用
    returned: int = 0
    reported: dict[str, int] = field(default_factory=lambda: {level: 0 for level in INFO_LEVELS})
    transferred: int = 0
    instructions: int = 0
    feedback: int = 0
    waiting_feedback: int = 0  # transferred before the end of the range and no feedback by then

    @property
    def not_adopted(self) -> int:
        return self.rejected

    @property
    def reported_total(self) -> int:
        return sum(self.reported.values())


_STAT_FIELDS = {
    "submitted": "submitted",
    "accepted": "accepted",
    "rejected": "rejected",
    "returned": "returned",
    "transferred": "transferred",
    "instruction": "instructions",
    "feedback": "feedback",
}


async def info_statistics(session: AsyncSession, start: datetime, end: datetime) -> InfoStats:
    """Aggregated in SQL (GROUP BY), so it stays fast on a province's worth of items."""
    begin, finish = to_db(start), to_db(end)
    in_range = (col(InfoEvent.at) >= begin, col(InfoEvent.at) < finish)
    stats = InfoStats()
    by_kind = (
        select(InfoEvent.kind, func.count(distinct(col(InfoEvent.item_id))))
        .where(*in_range, col(InfoEvent.kind).in_(list(_STAT_FIELDS)))
        .group_by(col(InfoEvent.kind))
    )
    for kind, n in (await session.exec(by_kind)).all():
        setattr(stats, _STAT_FIELDS[kind], int(n))
    by_level = (
        select(InfoEvent.level, func.count(distinct(col(InfoEvent.item_id))))
        .where(*in_range, InfoEvent.kind == "reported")
        .group_by(col(InfoEvent.level))
    )
    for level, n in (await session.exec(by_level)).all():
        if level in stats.reported:
            stats.reported[level] = int(n)
    answered = select(InfoEvent.item_id).where(InfoEvent.kind == "feedback", col(InfoEvent.at) < finish)
    waiting = select(func.count(distinct(col(InfoEvent.item_id)))).where(
        InfoEvent.kind == "transferred", col(InfoEvent.at) < finish, col(InfoEvent.item_id).not_in(answered)
    )
    stats.waiting_feedback = int((await session.exec(waiting)).one())
    return stats


# --------------------------------------------------------------------------- texts


def state_label(state: str, lang: str) -> str:
    return t(f"info.state.{state}", lang)


def status_label(view: ItemView, lang: str) -> str:
    """Where an item stands, following the workflow: an adopted item that was reported upward
    reads 已报送市级, one with feedback 已收到办理反馈 (not 已采用 for ever)."""
    item = view.item
    if item.state != "accepted":
        return state_label(item.state, lang)
    kinds = {e.kind for e in view.events}
    if "feedback" in kinds:
        return t("info.status.feedback", lang)
    levels = [level for level in INFO_LEVELS if level in view.reported_levels]
    if levels:
        return t("info.status.reported", lang, level=t(f"info.level.{levels[-1]}", lang))
    if "transferred" in kinds:
        return t("info.status.transferred", lang)
    return state_label(item.state, lang)


def describe_event(
    event: InfoEvent, lang: str, tz: tzinfo, actor: str = "", today: date | None = None
) -> str:
    """One history line, naming who acted, e.g. `3月2日（周一）10:15 报送市级（3月1日（周日），王明）`."""
    when = format_moment(event.at or datetime.now(UTC), tz, lang, today)
    params = {
        "level": level_label(event.level, lang) if event.level else "",
        "target": event.target or "",
        "date": short_day(event.on_date, lang) if event.on_date else "",  # inside brackets: no weekday
        "text": _gist(event, lang),
        "actor": actor or "—",
    }
    return f"{when} {t(f'info.history.{event.kind}', lang, **params)}"


def render_card(
    view: ItemView,
    lang: str,
    tz: tzinfo,
    *,
    full_body: bool = False,
    staff: bool = False,
    history: bool = True,
    limit: int = CARD_LIMIT,
    today: date | None = None,
) -> str:
    """An item as the author (/myinfo) or the secretariat (/inbox) sees it, in at most `limit`
    characters (one Telegram message)."""
    item = view.item
    authors = (
        "、".join(m.name for m in view.authors) if lang == "zh" else ", ".join(m.name for m in view.authors)
    )
    body = item.body if full_body or len(item.body) <= 300 else item.body[:300] + "…"
    lines = [
        t(
            "info.card",
            lang,
            number=item.number,
            title=item.title,
            category=item.category,
            state=status_label(view, lang),
            authors=authors,
            submitted=format_moment(item.submitted_at, tz, lang, today),
            length=len(item.body),
        )
    ]
    if staff:
        lines.append(body)
    if view.attachments:
        lines.append(t("info.card_files", lang, count=len(view.attachments)))
    if item.original_title or item.original_body:
        lines.append(t("info.card_edited", lang))
    if staff and item.duplicate_of:
        lines.append(t("info.duplicate", lang, number=item.duplicate_of))
    if not (history and view.events):
        return _cut("\n".join(lines), limit)
    names = {**view.actors, **{m.id: m.name for m in view.authors if m.id is not None}}
    steps = ["· " + describe_event(e, lang, tz, names.get(e.actor_id or 0, ""), today) for e in view.events]
    lines.append(t("info.card_history", lang))
    text = "\n".join(lines + steps)
    if len(text) <= limit:
        return text
    # Too long for one message: the newest steps are the ones that matter, so the oldest go.
    head = "\n".join(lines)
    kept: list[str] = []
    for step in reversed(steps):
        note = t("info.card_history_cut", lang, count=len(steps) - len(kept) - 1)
        if len(head) + len(note) + sum(len(s) + 1 for s in kept) + len(step) + 2 > limit:
            break
        kept.insert(0, step)
    kept = kept or steps[-1:]  # not even the newest fits whole: its beginning, then
    note = t("info.card_history_cut", lang, count=len(steps) - len(kept))
    return _cut("\n".join([head, note, *kept]), limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- from a proposal

# A proposal's category (rules.proposal.categories) → the nearest 社情民意 category of the shipped rules.
_FROM_PROPOSAL = {
    "经济建设": "经济发展",
    "社会建设": "民生保障",
    "生态文明建设": "生态环境",
    "政治建设": "法治建设",
}


async def add_converted(
    session: AsyncSession,
    *,
    seq: int,
    year: int,
    author_ids: list[int],
    title: str,
    body: str,
    category: str,
    actor_id: int | None,
    now: datetime,
    rules: Rules,
) -> InfoItem:
    """An item made from a proposal the secretariat turned into 社情民意 (转为社情民意): the same
    authors (the first leads), number `seq` of `year` (from next_sequence, taken first in the
    caller's transaction), waiting in the 社情民意 queue. The caller tells the authors."""
    categories = rules.info.categories
    if category not in categories:
        category = _FROM_PROPOSAL.get(category, "其他")
        if category not in categories:
            category = "其他" if "其他" in categories else categories[0]
    title, body = " ".join(title.split())[:TITLE_MAX], body.strip()[:BODY_MAX]
    new = await asyncio.to_thread(fingerprint, title, body)
    item = InfoItem(
        number=format_number(year, seq),
        year=year,
        seq=seq,
        author_id=author_ids[0],
        title=title,
        body=body,
        category=category,
        state="submitted",
        submitted_at=to_db(now),
        last_submitted_at=to_db(now),
        updated_at=to_db(now),
        bigrams=new.text,
        signature=new.signature,
    )
    session.add(item)
    await session.flush()
    assert item.id is not None
    for position, member_id in enumerate(dict.fromkeys(author_ids)):
        session.add(InfoAuthor(item_id=item.id, member_id=member_id, position=position))
    await _record(session, item, "submitted", actor_id=actor_id, now=now, text="proposal")
    return item
