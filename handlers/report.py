"""/report and the 📝 menu button: a guided dialog — type, date, description, evidence photos,
summary card — that stores a duty activity report. Also corrects a pending or returned report
(the ✏️ buttons of /myreports and of a "returned" notice).

The dialog's data lives in `context.user_data["report"]` (JSON values only) and its state in the
database persistence, so a member continues at the same step after a restart. A dialog left alone
for `DIALOG_TIMEOUT_MINUTES` ends with a notice; what was entered is kept as a draft that /report
offers to resume.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.core.dates import check_day, format_day, parse_activity_date, today_in
from bot.core.i18n import all_texts, t
from bot.core.refusals import AskAgain
from bot.services import activities
from bot.services.activities import MAX_DESCRIPTION, MAX_PHOTOS, Evidence, ReportError
from bot.services.outbox import notify_member
from handlers import uploads
from handlers.button_data import button_number
from handlers.common import (
    PRIVATE,
    TYPED,
    Context,
    Prompt,
    PromptFor,
    answer_once,
    close_pressed,
    deps,
    dialog,
    keyboard,
    lang_of,
    load_member,
    main_menu,
    menu_pattern,
    refuse,
    step_label,
)
from models import Member

log = logging.getLogger(__name__)

KEY = "report"
TYPE, DATE, DESCRIPTION, PHOTOS, SUMMARY, RESUME = range(6)
END = ConversationHandler.END

DONE_WORDS = {w.casefold() for w in all_texts("report.word_done") + all_texts("report.word_skip")}
DONE_TEXT = filters.Text([w for w in all_texts("report.word_done") + all_texts("report.word_skip")])
EVIDENCE = PRIVATE & (filters.PHOTO | filters.Document.IMAGE)
OTHER_FILES = (
    PRIVATE & (filters.ATTACHMENT | filters.Sticker.ALL | filters.LOCATION | filters.CONTACT) & ~EVIDENCE
)

Step = Callable[[Update, Context, Member, dict, str], Awaitable[int]]


# ------------------------------------------------------------------ helpers



async def _say(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> Message | None:
    """Answer a button press (if any) and send a message in the member's chat."""
    await answer_once(update)
    chat = update.effective_chat
    return await chat.send_message(text, reply_markup=markup) if chat is not None else None


def _today(context: Context) -> date:
    d = deps(context)
    return today_in(d.clock.now(), d.settings.tz)


def _period_start(context: Context) -> date:
    d = deps(context)
    return activities.period_start_day(d.rules, d.clock.now(), d.settings.tz)


def _date_problem(context: Context, problem: str, day: date | None) -> AskAgain:
    """Why a day is refused, with the day and the period's first day."""
    start, today = _period_start(context), _today(context)
    return AskAgain(
        f"report.date_{problem}",
        date=lambda lang: format_day(day, lang, today) if day else "",
        start=lambda lang: format_day(start, lang, today),
    )


def _new_draft() -> dict:
    # "key" names this draft: its report is stored once, however often it is confirmed (bot.services.activities)
    return {"type": None, "date": None, "description": None, "photos": [], "report_id": None, "fixing": False,
            "key": uuid.uuid4().hex}


def _has_content(draft: dict) -> bool:
    return bool(
        draft.get("type") or draft.get("description") or draft.get("photos") or draft.get("long_text")
    )


def step(func: Step) -> Callable[[Update, Context], Awaitable[int]]:
    """A dialog step: the member is loaded on every call, and the dialog must still have its draft
    (it may have timed out or been cancelled in another way)."""

    @functools.wraps(func)
    async def wrapper(update: Update, context: Context) -> int:
        member = await load_member(update, context)
        if member is None:
            await refuse(update, t("onboarding.stranger", lang_of(None, context, update)))
            return END
        lang = lang_of(member, context)
        draft = (context.user_data or {}).get(KEY)
        if not isinstance(draft, dict):
            await refuse(update, t("report.no_dialog", lang))
            return END
        draft.setdefault("key", uuid.uuid4().hex)  # a draft kept from before drafts had keys
        state = await func(update, context, member, draft, lang)
        if state != END:
            draft["touched"] = deps(context).clock.now().isoformat()
            context.user_data[KEY] = draft  # type: ignore[index]
        return state

    return wrapper


# ------------------------------------------------------------------ prompts


def _type_label(context: Context, code: str | None, lang: str) -> str:
    activity = deps(context).rules.activities.get(code or "")
    return activity.label(lang) if activity else "—"


def _draft_of(context: Context) -> dict:
    draft = (context.user_data or {}).get(KEY)
    return draft if isinstance(draft, dict) else {}


async def _type_prompt(update: Update, context: Context, lang: str) -> Prompt:
    types = [(a.button(lang), f"rep:type:{a.code}") for a in deps(context).rules.activities.values()]
    rows = [types[i : i + 2] for i in range(0, len(types), 2)] + [[(t("report.btn_cancel", lang), "rep:cancel")]]
    return t("report.title", lang) + "\n" + step_label(1, 4, lang) + t("report.ask_type", lang), keyboard(rows)


async def _date_prompt(update: Update, context: Context, lang: str) -> Prompt:
    rows = [
        [
            (t("report.btn_today", lang), "rep:day:0"),
            (t("report.btn_yesterday", lang), "rep:day:1"),
            (t("report.btn_day_before", lang), "rep:day:2"),
        ],
        [(t("report.btn_cancel", lang), "rep:cancel")],
    ]
    return step_label(2, 4, lang) + t("report.ask_date", lang), keyboard(rows)


async def _description_prompt(update: Update, context: Context, lang: str) -> Prompt:
    text = t("report.ask_description", lang, min=activities.MIN_DESCRIPTION, max=MAX_DESCRIPTION)
    return step_label(3, 4, lang) + text, None


def _photos_markup(lang: str, count: int) -> InlineKeyboardMarkup:
    rows = [[(t("report.btn_photos_done" if count else "report.btn_photos_skip", lang), "rep:photos:done")]]
    if count:
        rows[0].append((t("report.btn_photos_clear", lang), "rep:photos:clear"))
    return keyboard(rows)


async def _photos_prompt(update: Update, context: Context, lang: str) -> Prompt:
    count = len(_draft_of(context).get("photos") or [])
    if count:
        return t("report.ask_photos_again", lang, max=MAX_PHOTOS, count=count), _photos_markup(lang, count)
    return step_label(4, 4, lang) + t("report.ask_photos", lang, max=MAX_PHOTOS), _photos_markup(lang, 0)


async def _summary_prompt(update: Update, context: Context, lang: str) -> Prompt:
    rows = [
        [(t("report.btn_submit", lang), "rep:ok")],
        [(t("report.btn_fix", lang), "rep:fix"), (t("report.btn_cancel", lang), "rep:cancel")],
    ]
    return summary_text(context, _draft_of(context), lang), keyboard(rows)


async def _resume_prompt(update: Update, context: Context, lang: str) -> Prompt:
    rows = [[(t("report.btn_resume", lang), "rep:resume"), (t("report.btn_restart", lang), "rep:restart")]]
    return t("report.resume_hint", lang), keyboard(rows)


async def ask_type(update: Update, context: Context, lang: str) -> int:
    await _say(update, *await _type_prompt(update, context, lang))
    return TYPE


async def ask_date(update: Update, context: Context, lang: str) -> int:
    await _say(update, *await _date_prompt(update, context, lang))
    return DATE


async def ask_description(update: Update, context: Context, lang: str) -> int:
    await _say(update, *await _description_prompt(update, context, lang))
    return DESCRIPTION


async def ask_photos(update: Update, context: Context, draft: dict, lang: str) -> int:
    await _say(update, *await _photos_prompt(update, context, lang))
    return PHOTOS


def summary_text(context: Context, draft: dict, lang: str) -> str:
    rules = deps(context).rules
    activity = rules.activities.get(draft.get("type") or "")
    day = date.fromisoformat(draft["date"]) if draft.get("date") else None
    points = activity.points if activity else 0
    review = t("report.needs_review" if (activity is None or activity.review) else "report.no_review", lang)
    header = t("report.summary_edit_header" if draft.get("report_id") else "report.summary_header", lang)
    return t(
        "report.summary",
        lang,
        header=header,
        type=_type_label(context, draft.get("type"), lang),
        date=format_day(day, lang, _today(context)) if day else "—",
        description=draft.get("description") or "—",
        photos=len(draft.get("photos") or []),
        points=f"{points:g}",
        review=review,
    )


async def show_summary(update: Update, context: Context, draft: dict, lang: str) -> int:
    draft["fixing"] = False
    await _say(update, *await _summary_prompt(update, context, lang))
    return SUMMARY


PROMPTS: dict[object, PromptFor] = {
    RESUME: _resume_prompt,
    TYPE: _type_prompt,
    DATE: _date_prompt,
    DESCRIPTION: _description_prompt,
    PHOTOS: _photos_prompt,
    SUMMARY: _summary_prompt,
}


async def next_missing(update: Update, context: Context, draft: dict, lang: str) -> int:
    """Go on with the first step that still has no answer (or to the summary when fixing one)."""
    if not draft.get("type"):
        return await ask_type(update, context, lang)
    if not draft.get("date"):
        return await ask_date(update, context, lang)
    if not draft.get("description"):
        return await ask_description(update, context, lang)
    if draft.get("fixing") or draft.get("photos_done"):
        return await show_summary(update, context, draft, lang)
    return await ask_photos(update, context, draft, lang)


# ------------------------------------------------------------------ entry points


async def start(update: Update, context: Context) -> int:
    """/report or the menu button: offer a kept draft, else start with the activity type."""
    member = await load_member(update, context)
    if member is None:
        await refuse(update, t("onboarding.stranger", lang_of(None, context, update)))
        return END
    assert member.id is not None
    lang = lang_of(member, context)
    d = deps(context)
    current = (context.user_data or {}).pop(KEY, None)
    async with d.db.session() as session:
        if isinstance(current, dict) and _has_content(current) and not current.get("report_id"):
            # /report again in the middle of a dialog: keep what was entered as the draft to offer
            await activities.save_draft(session, member.id, current, d.clock.now())
        stored = await activities.load_draft(session, member.id)
    if stored and _has_content(stored):
        context.user_data[KEY] = {"offered": True}  # type: ignore[index]
        day = date.fromisoformat(stored["date"]) if stored.get("date") else None
        text = t(
            "report.resume_offer",
            lang,
            type=_type_label(context, stored.get("type"), lang),
            date=format_day(day, lang, _today(context)) if day else "—",
            photos=len(stored.get("photos") or []),
        )
        await _say(
            update,
            text,
            keyboard(
                [
                    [
                        (t("report.btn_resume", lang), "rep:resume"),
                        (t("report.btn_restart", lang), "rep:restart"),
                    ]
                ]
            ),
        )
        return RESUME
    context.user_data[KEY] = _new_draft()  # type: ignore[index]
    context.user_data[KEY]["touched"] = d.clock.now().isoformat()  # type: ignore[index]
    return await ask_type(update, context, lang)


@step
async def resume(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    """继续: the kept draft becomes the dialog's data again."""
    assert member.id is not None
    d = deps(context)
    async with d.db.session() as session:
        stored = await activities.load_draft(session, member.id)
        await activities.discard_draft(session, member.id)
    await close_pressed(update)
    draft.clear()
    draft.update(stored or _new_draft())
    draft["fixing"] = False
    if draft.get("date"):
        problem = check_day(
            date.fromisoformat(draft["date"]), today=_today(context), period_start=_period_start(context)
        )
        if problem is not None:  # the period turned over since: ask for the day again
            stale = _date_problem(context, problem.value, date.fromisoformat(draft["date"]))
            await _say(update, stale.text(lang))
            draft["date"] = None
    return await next_missing(update, context, draft, lang)


@step
async def restart(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    """重新开始: the kept draft is dropped."""
    assert member.id is not None
    async with deps(context).db.session() as session:
        await activities.discard_draft(session, member.id)
    await close_pressed(update)
    draft.clear()
    draft.update(_new_draft())
    return await ask_type(update, context, lang)


async def edit_existing(update: Update, context: Context) -> int:
    """✏️ on a pending or returned report: load it into the dialog and show its summary card."""
    assert update.callback_query is not None
    member = await load_member(update, context)
    if member is None:
        await refuse(update, t("onboarding.stranger", lang_of(None, context, update)))
        return END
    assert member.id is not None
    lang = lang_of(member, context)
    report_id = button_number(update)
    if report_id is None:
        await refuse(update, t("common.stale_button", lang))
        return END if not isinstance((context.user_data or {}).get(KEY), dict) else SUMMARY
    async with deps(context).db.session() as session:
        report = await activities.own_report(session, report_id, member.id)
        photos = await activities.photos_of(session, report_id) if report is not None else []
    if report is None or report.status not in activities.EDITABLE or report.attendance is not None:
        await refuse(update, t("report.not_editable", lang))
        return END if not isinstance((context.user_data or {}).get(KEY), dict) else SUMMARY
    context.user_data[KEY] = {  # type: ignore[index]
        "type": report.type_code,
        "date": report.activity_date.isoformat(),
        "description": report.description,
        "photos": [p.as_dict() for p in photos],
        "report_id": report.id,
        "fixing": False,
        "photos_done": True,
        "touched": deps(context).clock.now().isoformat(),
    }
    return await show_summary(update, context, context.user_data[KEY], lang)  # type: ignore[index]


# ------------------------------------------------------------------ steps


@step
async def pick_type(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    code = (update.callback_query.data or "").removeprefix("rep:type:") if update.callback_query else ""
    activity = deps(context).rules.activities.get(code)
    if activity is None:
        raise AskAgain("common.stale_button")
    await close_pressed(update, t("report.chosen_type", lang, type=activity.label(lang)))
    draft["type"] = code
    return await next_missing(update, context, draft, lang)


async def _accept_day(update: Update, context: Context, draft: dict, lang: str, day: date) -> int:
    draft["date"] = day.isoformat()
    return await next_missing(update, context, draft, lang)


@step
async def pick_day(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    """今天 / 昨天 / 前天, counted at the moment of the press in the committee's zone."""
    back = button_number(update, minimum=0, maximum=2) or 0  # the pattern allows only 0-2
    day = _today(context) - timedelta(days=back)
    problem = check_day(day, today=_today(context), period_start=_period_start(context))
    if problem is not None:
        raise _date_problem(context, problem.value, day)
    await close_pressed(update, t("report.chosen_date", lang, date=format_day(day, lang, _today(context))))
    return await _accept_day(update, context, draft, lang, day)


@step
async def typed_date(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    text = update.effective_message.text or ""  # type: ignore[union-attr]
    answer = parse_activity_date(text, today=_today(context), period_start=_period_start(context))
    if not answer.ok:
        assert answer.problem is not None
        raise _date_problem(context, answer.problem.value, answer.day)
    assert answer.day is not None
    await _say(update, t("report.chosen_date", lang, date=format_day(answer.day, lang, _today(context))))
    return await _accept_day(update, context, draft, lang, answer.day)


@step
async def description(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    text = (update.effective_message.text or "").strip()  # type: ignore[union-attr]
    problem = activities.description_problem(text)
    if problem == "too_short":
        raise AskAgain("report.description_too_short", length=len(text), min=activities.MIN_DESCRIPTION)
    if problem == "too_long":
        # Keep every character: the member chooses to keep the first part or send a shorter text.
        draft["long_text"] = text
        rows = [
            [(t("report.btn_keep_first", lang, limit=MAX_DESCRIPTION), "rep:desc:keep")],
            [(t("report.btn_send_again", lang), "rep:desc:again")],
        ]
        await _say(
            update, t("report.description_too_long", lang, length=len(text), limit=MAX_DESCRIPTION), keyboard(rows)
        )
        return DESCRIPTION
    draft["description"] = text
    draft.pop("long_text", None)
    return await next_missing(update, context, draft, lang)


@step
async def keep_first_part(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    long_text = draft.pop("long_text", None)
    if not long_text:
        raise AskAgain("common.stale_button")
    await close_pressed(update)
    kept = long_text[:MAX_DESCRIPTION].rstrip()
    draft["description"] = kept
    await _say(
        update, t("report.kept_first", lang, limit=MAX_DESCRIPTION, dropped=len(long_text) - len(kept))
    )
    return await next_missing(update, context, draft, lang)


@step
async def send_again(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    await close_pressed(update)
    await _say(update, t("report.send_again", lang, limit=MAX_DESCRIPTION))
    return DESCRIPTION


def _evidence_of(message: Message) -> Evidence | None:
    if message.photo:
        biggest = message.photo[-1]
        return Evidence("photo", biggest.file_id, biggest.file_unique_id)
    doc = message.document
    if doc is not None and (doc.mime_type or "").startswith("image/"):
        return Evidence("document", doc.file_id, doc.file_unique_id)
    return None


async def _picture_refusal(context: Context, message: Message, lang: str) -> str | None:
    """Why the picture is not taken (it does not decode), or None."""
    sent = message.photo[-1] if message.photo else message.document
    assert sent is not None
    return await uploads.refusal(context, sent.file_id, sent.file_size, uploads.IMAGE, lang)


def _add_evidence(draft: dict, evidence: Evidence) -> str:
    """ "added", "duplicate" or "full"."""
    photos = draft.setdefault("photos", [])
    if any(p.get("file_unique_id") == evidence.file_unique_id for p in photos if evidence.file_unique_id):
        return "duplicate"
    if len(photos) >= MAX_PHOTOS:
        return "full"
    photos.append(evidence.as_dict())
    return "added"


@step
async def early_photo(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    """A photo sent before its step: kept for the evidence step (not lost), then the current question again."""
    message = update.effective_message
    assert message is not None
    evidence = _evidence_of(message)
    refusal = await _picture_refusal(context, message, lang) if evidence is not None else None
    if refusal is not None:
        await _say(update, refusal)
        return await next_missing(update, context, draft, lang)
    if evidence is not None:
        _add_evidence(draft, evidence)
    await _say(update, t("report.photo_kept_early", lang, count=len(draft.get("photos") or [])))
    return await next_missing(update, context, draft, lang)


@step
async def add_photo(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    """One photo or image document; album parts arrive one by one and share one counter message."""
    message = update.effective_message
    assert message is not None
    evidence = _evidence_of(message)
    if evidence is None:
        return await wrong_file.__wrapped__(update, context, member, draft, lang)  # type: ignore[attr-defined]
    refusal = await _picture_refusal(context, message, lang)
    if refusal is not None:
        await _say(update, refusal, _photos_markup(lang, len(draft.get("photos") or [])))
        return PHOTOS
    outcome = _add_evidence(draft, evidence)
    count = len(draft["photos"])
    group = message.media_group_id
    if outcome == "full":
        if not group or draft.get("full_group") != group:  # one notice per album, not one per photo
            draft["full_group"] = group
            await _say(update, t("report.photos_full", lang, max=MAX_PHOTOS), _photos_markup(lang, count))
        return PHOTOS
    if outcome == "duplicate":
        await _say(update, t("report.photo_duplicate", lang, count=count), _photos_markup(lang, count))
        return PHOTOS
    text = t("report.photo_received", lang, count=count, max=MAX_PHOTOS)
    album = draft.get("album") or {}
    if group and album.get("group") == group and album.get("message_id"):
        try:
            await context.bot.edit_message_text(
                text,
                chat_id=message.chat_id,
                message_id=album["message_id"],
                reply_markup=_photos_markup(lang, count),
            )
            return PHOTOS
        except BadRequest:
            pass  # the counter message is gone: send a new one
    sent = await _say(update, text, _photos_markup(lang, count))
    draft["album"] = {"group": group, "message_id": sent.message_id if sent else None} if group else {}
    return PHOTOS


@step
async def wrong_file(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    """A file that is not a picture: refused, and the photo step asked again with its own buttons."""
    raise AskAgain("report.wrong_file")


@step
async def photos_done(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    await close_pressed(update)
    draft["photos_done"] = True
    draft.pop("album", None)
    draft.pop("full_group", None)
    return await show_summary(update, context, draft, lang)


@step
async def photos_clear(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    await close_pressed(update)
    draft["photos"] = []
    draft.pop("album", None)
    await _say(update, t("report.photos_cleared", lang))
    return await ask_photos(update, context, draft, lang)


@step
async def photos_hint(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    text = (update.effective_message.text or "").strip().casefold() if update.effective_message else ""
    if text in DONE_WORDS:
        return await photos_done.__wrapped__(update, context, member, draft, lang)  # type: ignore[attr-defined]
    raise AskAgain("common.step_again")


@step
async def submit(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    """确认提交: store the report (pending or confirmed) and end the dialog."""
    assert member.id is not None
    d = deps(context)
    try:
        async with d.db.session() as session:
            report = await activities.submit_report(
                session,
                member_id=member.id,
                type_code=draft.get("type") or "",
                day=date.fromisoformat(draft["date"]) if draft.get("date") else date.max,
                description=draft.get("description") or "",
                photos=[Evidence.from_dict(p) for p in draft.get("photos") or []],
                now=d.clock.now(),
                rules=d.rules,
                zone=d.settings.tz,
                report_id=draft.get("report_id"),
                submit_key=draft.get("key"),
            )
    except ReportError as exc:
        # Dialog.refused says why and asks the step the refusal names (a date that left the
        # period, a type no longer in the rules …); after it the summary comes back.
        draft["fixing"] = True
        if exc.field == "date":
            draft["date"] = None
        raise
    await close_pressed(update, summary_text(context, draft, lang))
    context.user_data.pop(KEY, None)  # type: ignore[union-attr]
    key = "report.submitted_pending" if report.status == activities.PENDING else "report.submitted_confirmed"
    await _say(update, t(key, lang, id=report.id, points=f"{report.points:g}"), None)
    if update.effective_chat is not None:
        await update.effective_chat.send_message(t("report.after_submit", lang), reply_markup=main_menu(lang, member))
    return END


@step
async def fix_menu(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    """修改: which part to change."""
    await close_pressed(update)
    rows = [
        [(t("report.btn_fix_type", lang), "rep:fix:type"), (t("report.btn_fix_date", lang), "rep:fix:date")],
        [
            (t("report.btn_fix_description", lang), "rep:fix:desc"),
            (t("report.btn_fix_photos", lang), "rep:fix:photos"),
        ],
        [(t("report.btn_back", lang), "rep:fix:back")],
    ]
    await _say(update, t("report.fix_which", lang), keyboard(rows))
    return SUMMARY


@step
async def fix_part(update: Update, context: Context, member: Member, draft: dict, lang: str) -> int:
    part = (update.callback_query.data or "").rsplit(":", 1)[1]  # type: ignore[union-attr]
    await close_pressed(update)
    draft["fixing"] = True
    if part == "type":
        return await ask_type(update, context, lang)
    if part == "date":
        return await ask_date(update, context, lang)
    if part == "desc":
        await _say(update, t("report.current_description", lang, description=draft.get("description") or "—"))
        return await ask_description(update, context, lang)
    if part == "photos":
        return await ask_photos(update, context, draft, lang)
    return await show_summary(update, context, draft, lang)


async def cancel(update: Update, context: Context) -> int:
    """/cancel or 取消, at any step: nothing is stored."""
    member = await load_member(update, context)
    lang = lang_of(member, context, update)
    draft = (context.user_data or {}).pop(KEY, None)
    await close_pressed(update)
    key = (
        "report.cancelled_edit" if isinstance(draft, dict) and draft.get("report_id") else "report.cancelled"
    )
    await _say(update, t(key, lang))
    if update.effective_chat is not None:
        await update.effective_chat.send_message(t("report.after_cancel", lang), reply_markup=main_menu(lang, member))
    return END


async def timed_out(update: Update, context: Context) -> None:
    """The dialog was left alone too long: keep what was entered as a draft and say so (outbox)."""
    draft = (context.user_data or {}).pop(KEY, None)
    user = update.effective_user if isinstance(update, Update) else None
    if user is None:
        return
    d = deps(context)
    now = d.clock.now()
    async with d.db.session() as session:
        from bot.services import members

        member = await members.by_telegram_id(session, user.id)
        if member is None or member.id is None:
            return
        kept = isinstance(draft, dict) and _has_content(draft) and not draft.get("report_id")
        if kept:
            assert isinstance(draft, dict)
            draft.pop("album", None)
            kept = await activities.save_draft(session, member.id, draft, now)
        touched = draft.get("touched", now.isoformat()) if isinstance(draft, dict) else now.isoformat()
        await notify_member(
            session,
            member,
            "report.timeout_kept" if kept else "report.timeout_nothing",
            dedupe_key=f"report-timeout:{member.id}:{touched}",
            now=now,
            default_lang=d.settings.locale,
            kind="report",
            minutes=d.settings.dialog_timeout_minutes,
        )
    log.info("report dialog of member %s timed out (draft kept: %s)", member.id, kept)


def build_conversation(app: Application) -> ConversationHandler:
    d = app.bot_data["deps"]
    text_menu = PRIVATE & filters.Regex(menu_pattern("menu.report"))
    return dialog(
        "report",
        prompts=PROMPTS,
        buttons="rep:",
        data_key=KEY,
        fields={"type": TYPE, "date": DATE, "description": DESCRIPTION, "photos": PHOTOS},
        timeout_minutes=d.settings.dialog_timeout_minutes,
        entry_points=[
            CommandHandler("report", start, filters=PRIVATE),
            MessageHandler(text_menu, start),
            CallbackQueryHandler(edit_existing, pattern=r"^rep:edit:\d+$"),
        ],
        states={
            RESUME: [
                CallbackQueryHandler(resume, pattern=r"^rep:resume$"),
                CallbackQueryHandler(restart, pattern=r"^rep:restart$"),
            ],
            TYPE: [
                CallbackQueryHandler(pick_type, pattern=r"^rep:type:"),
                MessageHandler(EVIDENCE, early_photo),
            ],
            DATE: [
                CallbackQueryHandler(pick_day, pattern=r"^rep:day:[0-2]$"),
                MessageHandler(TYPED, typed_date),
                MessageHandler(EVIDENCE, early_photo),
            ],
            DESCRIPTION: [
                MessageHandler(TYPED, description),
                CallbackQueryHandler(keep_first_part, pattern=r"^rep:desc:keep$"),
                CallbackQueryHandler(send_again, pattern=r"^rep:desc:again$"),
                MessageHandler(EVIDENCE, early_photo),
            ],
            PHOTOS: [
                MessageHandler(EVIDENCE, add_photo),
                CallbackQueryHandler(photos_done, pattern=r"^rep:photos:done$"),
                CallbackQueryHandler(photos_clear, pattern=r"^rep:photos:clear$"),
                MessageHandler(OTHER_FILES, wrong_file),
                MessageHandler(TYPED, photos_hint),
            ],
            SUMMARY: [
                CallbackQueryHandler(submit, pattern=r"^rep:ok$"),
                CallbackQueryHandler(fix_menu, pattern=r"^rep:fix$"),
                CallbackQueryHandler(fix_part, pattern=r"^rep:fix:(type|date|desc|photos|back)$"),
            ],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CallbackQueryHandler(cancel, pattern=r"^rep:cancel$"),
        ],
    )


def register(app: Application) -> None:
    app.add_handler(build_conversation(app))
