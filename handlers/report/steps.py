"""The report dialog's steps: starting (or resuming a kept draft, or correcting a stored report),
type, date, description, the summary card (submit, change a part, cancel), and the timeout."""

from __future__ import annotations

import logging
from datetime import date

from telegram import Update

from bot.core.dates import format_day
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.services import activities, members
from bot.services.activities import MAX_DESCRIPTION, Evidence, ReportError
from bot.services.outbox import notify_member
from bot.telegram.ui import Context, close_pressed, keyboard, refuse, reply
from handlers import days
from handlers.common import lang_of, load_member, main_menu, member_only, typed_text
from handlers.dialog import END, Next, ask
from handlers.report import quantities
from handlers.report.states import (
    DATE,
    DAY,
    DESCRIPTION,
    EDIT,
    FIX_PART,
    KEEP_FIRST,
    KEY,
    PHOTOS,
    RESUME,
    SEND_AGAIN,
    TYPE,
    TYPE_BUTTON,
    draft_of,
    has_content,
    new_draft,
    next_missing,
    resume_buttons,
    show_summary,
    summary_text,
    type_label,
)
from models import Member
from models.activity import PENDING

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ entry points


@member_only
async def start(update: Update, context: Context, member: Member) -> Next:
    """/report or the menu button: offer a kept draft, else start with the activity type."""
    assert member.id is not None and context.user_data is not None
    lang = lang_of(member, context)
    d = context.deps
    current = context.user_data.pop(KEY, None)
    async with d.db.session() as session:
        if isinstance(current, dict) and has_content(current) and not current.get("report_id"):
            # /report again in the middle of a dialog: keep what was entered as the draft to offer
            await activities.save_draft(session, member.id, current, d.clock.now())
        stored = await activities.load_draft(session, member.id)
    if stored and has_content(stored):
        context.user_data[KEY] = {"offered": True}
        day = date.fromisoformat(stored["date"]) if stored.get("date") else None
        text = t(
            "report.resume_offer",
            lang,
            type=type_label(context, stored.get("type"), lang),
            date=format_day(day, lang, days.today(context)) if day else "—",
            photos=len(stored.get("photos") or []),
        )
        await reply(update, text, resume_buttons(lang))
        return RESUME
    context.user_data[KEY] = new_draft()
    return await ask(update, context, TYPE, lang)


@member_only
async def resume(update: Update, context: Context, member: Member) -> Next:
    """继续: the kept draft becomes the dialog's data again."""
    assert member.id is not None
    lang = lang_of(member, context)
    async with context.deps.db.session() as session:
        stored = await activities.load_draft(session, member.id)
        await activities.discard_draft(session, member.id)
    await close_pressed(update)
    draft = draft_of(context)
    draft.clear()
    draft.update(stored or new_draft())
    draft["fixing"] = False
    if (
        draft.get("date")
        and (stale := days.problem_of(context, date.fromisoformat(draft["date"]))) is not None
    ):
        await reply(update, stale.text(lang))  # the period turned over since: the day is asked again
        draft["date"] = None
    return await next_missing(update, context, lang)


@member_only
async def restart(update: Update, context: Context, member: Member) -> Next:
    """重新开始: the kept draft is dropped."""
    assert member.id is not None
    async with context.deps.db.session() as session:
        await activities.discard_draft(session, member.id)
    await close_pressed(update)
    draft = draft_of(context)
    draft.clear()
    draft.update(new_draft())
    return await ask(update, context, TYPE, lang_of(member, context))


@member_only
async def edit_existing(update: Update, context: Context, member: Member) -> Next:
    """✏️ on a pending or returned report: load it into the dialog and show its summary card."""
    assert member.id is not None and context.user_data is not None
    report_id = EDIT.read(update).number
    async with context.deps.db.session() as session:
        report = await activities.own_report(session, report_id, member.id)
        photos = await activities.photos_of(session, report_id) if report is not None else []
    if report is None or report.status not in activities.EDITABLE or report.attendance is not None:
        await refuse(update, t("report.not_editable", lang_of(member, context)))
        return None  # a dialog under way goes on where it was
    context.user_data[KEY] = {
        **new_draft(),
        "type": report.type_code,
        "date": report.activity_date.isoformat(),
        "description": report.description,
        "photos": [p.as_dict() for p in photos],
        "report_id": report.id,
        "photos_done": True,
    }
    return await show_summary(update, context, lang_of(member, context))


# ------------------------------------------------------------------ type, date, description


@member_only
async def pick_type(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    code = TYPE_BUTTON.read(update).word
    activity = context.deps.rules.activities.get(code)
    if activity is None:
        raise AskAgain("common.stale_button")
    await close_pressed(update, t("report.chosen_type", lang, type=activity.label(lang)))
    draft_of(context)["type"] = code
    return await next_missing(update, context, lang)


@member_only
async def pick_day(update: Update, context: Context, member: Member) -> Next:
    """今天 / 昨天 / 前天, counted at the moment of the press in the committee's zone."""
    lang = lang_of(member, context)
    day = days.pressed(context, DAY.read(update).number)
    await close_pressed(
        update, t("report.chosen_date", lang, date=format_day(day, lang, days.today(context)))
    )
    draft_of(context)["date"] = day.isoformat()
    return await next_missing(update, context, lang)


@member_only
async def typed_date(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    day = days.typed(context, typed_text(update))
    await reply(update, t("report.chosen_date", lang, date=format_day(day, lang, days.today(context))))
    draft_of(context)["date"] = day.isoformat()
    return await next_missing(update, context, lang)


@member_only
async def description(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    draft = draft_of(context)
    text = typed_text(update)
    problem = activities.description_problem(text)
    if problem == "too_short":
        raise AskAgain("report.description_too_short", length=len(text), min=activities.MIN_DESCRIPTION)
    if problem == "too_long":
        # Keep every character: the member chooses to keep the first part or send a shorter text.
        draft["long_text"] = text
        rows = [
            [(t("report.btn_keep_first", lang, limit=MAX_DESCRIPTION), KEEP_FIRST())],
            [(t("report.btn_send_again", lang), SEND_AGAIN())],
        ]
        text_long = t("report.description_too_long", lang, length=len(text), limit=MAX_DESCRIPTION)
        await reply(update, text_long, keyboard(rows))
        return DESCRIPTION
    draft["description"] = text
    draft.pop("long_text", None)
    return await next_missing(update, context, lang)


@member_only
async def keep_first_part(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    draft = draft_of(context)
    long_text = draft.pop("long_text", None)
    if not long_text:
        raise AskAgain("common.stale_button")
    await close_pressed(update)
    kept = long_text[:MAX_DESCRIPTION].rstrip()
    draft["description"] = kept
    await reply(
        update, t("report.kept_first", lang, limit=MAX_DESCRIPTION, dropped=len(long_text) - len(kept))
    )
    return await next_missing(update, context, lang)


@member_only
async def send_again(update: Update, context: Context, member: Member) -> Next:
    await close_pressed(update)
    await reply(update, t("report.send_again", lang_of(member, context), limit=MAX_DESCRIPTION))
    return DESCRIPTION


# ------------------------------------------------------------------ the summary card


@member_only
async def submit(update: Update, context: Context, member: Member) -> Next:
    """确认提交: store the report (pending or confirmed) and end the dialog."""
    assert member.id is not None and context.user_data is not None
    lang = lang_of(member, context)
    d = context.deps
    draft = draft_of(context)
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
            await quantities.save(session, report, draft, d.rules, d.clock.now())
    except ReportError as exc:
        # Dialog.refused says why and asks the step the refusal names (a date that left the
        # period, a type no longer in the rules …); after it the summary comes back.
        draft["fixing"] = True
        if exc.field == "date":
            draft["date"] = None
        raise
    await close_pressed(update, summary_text(context, draft, lang))
    context.user_data.pop(KEY, None)
    key = "report.submitted_pending" if report.status == PENDING else "report.submitted_confirmed"
    await reply(update, t(key, lang, id=report.id, points=f"{report.points:g}"))
    await reply(update, t("report.after_submit", lang), main_menu(lang, member))
    return END


@member_only
async def fix_menu(update: Update, context: Context, member: Member) -> Next:
    """修改: which part to change."""
    lang = lang_of(member, context)
    await close_pressed(update)
    rows = [
        [
            (t("report.btn_fix_type", lang), FIX_PART("type")),
            (t("report.btn_fix_date", lang), FIX_PART("date")),
        ],
        [
            (t("report.btn_fix_description", lang), FIX_PART("desc")),
            (t("report.btn_fix_photos", lang), FIX_PART("photos")),
        ],
        [(t("report.btn_back", lang), FIX_PART("back"))],
    ]
    await reply(update, t("report.fix_which", lang), keyboard(rows))
    return None


@member_only
async def fix_part(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    part = FIX_PART.read(update).word
    await close_pressed(update)
    draft = draft_of(context)
    draft["fixing"] = True
    if part == "back":
        return await show_summary(update, context, lang)
    if part == "desc":
        await reply(
            update, t("report.current_description", lang, description=draft.get("description") or "—")
        )
    return await ask(
        update, context, {"type": TYPE, "date": DATE, "desc": DESCRIPTION, "photos": PHOTOS}[part], lang
    )


async def cancel(update: Update, context: Context) -> int:
    """/cancel or 取消, at any step: nothing is stored."""
    member = await load_member(update, context)
    lang = lang_of(member, context, update)
    draft = (context.user_data or {}).pop(KEY, None)
    await close_pressed(update)
    editing = isinstance(draft, dict) and draft.get("report_id")
    await reply(update, t("report.cancelled_edit" if editing else "report.cancelled", lang))
    await reply(update, t("report.after_cancel", lang), main_menu(lang, member))
    return END


async def timed_out(update: Update, context: Context) -> None:
    """The dialog was left alone too long: keep what was entered as a draft and say so (outbox)."""
    draft = (context.user_data or {}).pop(KEY, None)
    user = update.effective_user
    if user is None:
        return
    d = context.deps
    now = d.clock.now()
    async with d.db.session() as session:
        member = await members.by_telegram_id(session, user.id)
        if member is None or member.id is None:
            return
        kept = isinstance(draft, dict) and has_content(draft) and not draft.get("report_id")
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
