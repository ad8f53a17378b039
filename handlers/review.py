"""Secretariat: /review pending activity reports one card at a time (通过 / 退回 with a reason /
跳过), and /record the attendance of a meeting for many members at once.

Every button press is checked again: the caller's role (staff_only) and the report's state in the
database (a forged, stale or already-decided button changes nothing).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from telegram import InputMediaPhoto, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.core.dates import check_day, format_day, format_moment, parse_activity_date, today_in
from bot.core.i18n import all_texts, t
from bot.core.refusals import AskAgain
from bot.services import activities
from bot.services.activities import Decision, ReportError
from handlers.button_data import button_number
from handlers.common import (
    PRIVATE,
    TYPED,
    Context,
    Prompt,
    PromptFor,
    answer_once,
    close_card,
    close_pressed,
    deps,
    dialog,
    keyboard,
    lang_of,
    menu_pattern,
    show,
    staff_only,
    step_label,
)
from models import ActivityReport, Member

log = logging.getLogger(__name__)

END = ConversationHandler.END
REASON = 0
REC_TYPE, REC_DATE, REC_MEMBERS, REC_CONFIRM = range(10, 14)
SKIP_KEY = "review_skip"
REASON_KEY = "review_return"
RECORD_KEY = "record"



def _report_id(update: Update) -> int | None:
    return button_number(update)


async def _alert(update: Update, text: str) -> None:
    if update.callback_query is not None:
        await answer_once(update, text, alert=True)
    elif update.effective_chat is not None:
        await update.effective_chat.send_message(text)


async def _mark(update: Update, outcome: str) -> None:
    """Close the pressed card, its text followed by the outcome."""
    message = update.callback_query.message if update.callback_query else None
    await close_pressed(update, f"{getattr(message, 'text', None) or ''}\n\n{outcome}")


def card_text(
    context: Context, report: ActivityReport, author: Member | None, photos: int, waiting: int, lang: str
) -> str:
    d = deps(context)
    activity = d.rules.activities.get(report.type_code)
    today = today_in(d.clock.now(), d.settings.tz)
    submitted = format_moment(report.submitted_at, d.settings.tz, lang, today)
    text = t(
        "review.card",
        lang,
        waiting=waiting,
        id=report.id,
        name=author.name if author else "?",
        sector=(author.sector if author else "") or "—",
        type=activity.label(lang) if activity else report.type_code,
        date=format_day(report.activity_date, lang, today),
        submitted=submitted,
        photos=photos,
        points=f"{(activity.points if activity else report.points):g}",
        description=report.description,
    )
    if report.return_reason:
        text += "\n\n" + t("review.card_resubmitted", lang, reason=report.return_reason)
    return text


async def show_next(update: Update, context: Context, member: Member) -> None:
    """The oldest pending report not skipped in this round, with its photos, or "nothing left"."""
    chat = update.effective_chat
    assert chat is not None
    lang = lang_of(member, context)
    skipped = list((context.user_data or {}).get(SKIP_KEY) or [])
    async with deps(context).db.session() as session:
        report = await activities.next_pending(session, skip=skipped)
        waiting = await activities.pending_count(session)
        if report is None:
            author, photos = None, []
        else:
            assert report.id is not None
            author = await session.get(Member, report.member_id)
            photos = await activities.photos_of(session, report.id)
    await answer_once(update)
    if report is None:
        key = "review.none_left_skipped" if skipped and waiting else "review.none_left"
        await chat.send_message(t(key, lang, skipped=len(skipped)))
        return
    pictures = [p for p in photos if p.kind == "photo"]
    if len(pictures) == 1:
        await chat.send_photo(pictures[0].file_id)
    elif pictures:
        await chat.send_media_group([InputMediaPhoto(p.file_id) for p in pictures])
    for doc in (p for p in photos if p.kind == "document"):
        await chat.send_document(doc.file_id)
    rows = [
        [
            (t("review.btn_approve", lang), f"rv:ok:{report.id}"),
            (t("review.btn_return", lang), f"rv:ret:{report.id}"),
            (t("review.btn_skip", lang), f"rv:skip:{report.id}"),
        ]
    ]
    await chat.send_message(
        card_text(context, report, author, len(photos), waiting, lang), reply_markup=keyboard(rows)
    )


@staff_only
async def review_command(update: Update, context: Context, member: Member) -> None:
    """/review: start a round, oldest pending report first."""
    context.user_data[SKIP_KEY] = []  # type: ignore[index]
    await show_next(update, context, member)


@staff_only
async def approve(update: Update, context: Context, member: Member) -> None:
    """通过: credit the points; only the first of two racing reviewers decides."""
    lang = lang_of(member, context)
    report_id = _report_id(update)
    if report_id is None:
        await _alert(update, t("common.stale_button", lang))
        return
    d = deps(context)
    assert member.id is not None
    async with d.db.session() as session:
        decision = await activities.approve_report(
            session,
            report_id=report_id,
            reviewer_id=member.id,
            now=d.clock.now(),
            rules=d.rules,
            default_lang=d.settings.locale,
        )
    if decision is not Decision.DONE:
        await _alert(update, t(f"review.{decision.value}", lang))
        await _mark(update, t("review.marked_handled", lang))
        return
    await answer_once(update, t("review.approved", lang))
    await _mark(update, t("review.marked_approved", lang, reviewer=member.name))
    await show_next(update, context, member)


@staff_only
async def skip(update: Update, context: Context, member: Member) -> None:
    """跳过: leave it for later in this round."""
    report_id = _report_id(update)
    if report_id is None:
        await _alert(update, t("common.stale_button", lang_of(member, context)))
        return
    skipped = list((context.user_data or {}).get(SKIP_KEY) or [])
    if report_id not in skipped:
        skipped.append(report_id)
    context.user_data[SKIP_KEY] = skipped  # type: ignore[index]
    await _mark(update, t("review.marked_skipped", lang_of(member, context)))
    await show_next(update, context, member)


@staff_only
async def ask_reason(update: Update, context: Context, member: Member) -> int:
    """退回: ask for the reason the member will read."""
    lang = lang_of(member, context)
    report_id = _report_id(update)
    async with deps(context).db.session() as session:
        report = await session.get(ActivityReport, report_id) if report_id is not None else None
    if report is None:
        await _alert(update, t("review.not_found", lang))
        return END
    if report.status != activities.PENDING:
        await _alert(update, t("review.already_handled", lang))
        await _mark(update, t("review.marked_handled", lang))
        return END
    card = update.callback_query.message if update.callback_query else None
    context.user_data[REASON_KEY] = {  # type: ignore[index]
        "report": report_id,
        "card": card.message_id if card is not None else None,
        "text": getattr(card, "text", None) or "",
    }
    await answer_once(update)
    await show(update, await _reason_prompt(update, context, lang))
    return REASON


async def _reason_prompt(update: Update, context: Context, lang: str) -> Prompt:
    pending = (context.user_data or {}).get(REASON_KEY) or {}
    return t("review.ask_reason", lang, id=pending.get("report", ""), max=activities.MAX_REASON), None


async def _staff_or_end(update: Update, context: Context) -> Member | None:
    from handlers.common import load_member

    member = await load_member(update, context)
    if member is None or not member.is_staff:
        await _alert(update, t("common.not_allowed", lang_of(member, context, update)))
        return None
    return member


async def reason_given(update: Update, context: Context) -> int:
    member = await _staff_or_end(update, context)
    if member is None:
        return END
    assert member.id is not None and update.effective_message is not None
    lang = lang_of(member, context)
    reason = (update.effective_message.text or "").strip()
    if len(reason) < 2 or len(reason) > activities.MAX_REASON:
        raise AskAgain("review.reason_length", hand_back=len(reason) > 2, max=activities.MAX_REASON)
    pending = (context.user_data or {}).pop(REASON_KEY, None)
    if not isinstance(pending, dict):
        return END
    report_id = pending["report"]
    d = deps(context)
    async with d.db.session() as session:
        decision = await activities.return_report(
            session,
            report_id=report_id,
            reviewer_id=member.id,
            reason=reason,
            now=d.clock.now(),
            rules=d.rules,
            default_lang=d.settings.locale,
        )
    key = "review.returned" if decision is Decision.DONE else f"review.{decision.value}"
    await update.effective_message.reply_text(t(key, lang, id=report_id))
    if pending.get("card"):  # the card is handled: it shows how, and its buttons are gone
        outcome = (
            t("review.marked_returned", lang, reviewer=member.name, reason=reason)
            if decision is Decision.DONE
            else t("review.marked_handled", lang)
        )
        await close_card(
            context.bot, update.effective_message.chat_id, pending["card"], f"{pending['text']}\n\n{outcome}"
        )
    await show_next(update, context, member)
    return END


async def reason_cancel(update: Update, context: Context) -> int:
    (context.user_data or {}).pop(REASON_KEY, None)
    member = await _staff_or_end(update, context)
    if member is not None and update.effective_chat is not None:
        await update.effective_chat.send_message(t("review.return_cancelled", lang_of(member, context)))
    return END


# ------------------------------------------------------------------ /record attendance in chat


def _record_types(context: Context) -> list:
    """Meetings the secretariat records: types with no review (they are not reported by members)."""
    rules = deps(context).rules
    chosen = [a for a in rules.activities.values() if not a.review]
    return chosen or list(rules.activities.values())


async def _record_type_prompt(update: Update, context: Context, lang: str) -> Prompt:
    types = [(a.button(lang), f"rec:type:{a.code}") for a in _record_types(context)]
    rows = [types[i : i + 2] for i in range(0, len(types), 2)] + [[(t("review.btn_cancel", lang), "rec:cancel")]]
    return step_label(1, 3, lang) + t("review.record_ask_type", lang), keyboard(rows)


async def _record_date_prompt(update: Update, context: Context, lang: str) -> Prompt:
    rows = [
        [
            (t("report.btn_today", lang), "rec:day:0"),
            (t("report.btn_yesterday", lang), "rec:day:1"),
            (t("report.btn_day_before", lang), "rec:day:2"),
        ],
        [(t("review.btn_cancel", lang), "rec:cancel")],
    ]
    return step_label(2, 3, lang) + t("review.record_ask_date", lang), keyboard(rows)


async def _record_members_prompt(update: Update, context: Context, lang: str) -> Prompt:
    data = (context.user_data or {}).get(RECORD_KEY) or {}
    day = date.fromisoformat(data["date"]) if data.get("date") else None
    shown = format_day(day, lang, _today_and_start(context)[0]) if day else ""
    return step_label(3, 3, lang) + t("review.record_ask_members", lang, date=shown), None


async def _record_confirm_prompt(update: Update, context: Context, lang: str) -> Prompt:
    data = (context.user_data or {}).get(RECORD_KEY) or {}
    plan = data.get("plan") or {"present": [], "leave": [], "absent": []}
    activity = deps(context).rules.activities[data["type"]]
    rows = [[(t("review.btn_record_confirm", lang), "rec:ok"), (t("review.btn_cancel", lang), "rec:cancel")]]
    text = t(
        "review.record_summary",
        lang,
        type=activity.label(lang),
        date=format_day(date.fromisoformat(data["date"]), lang, _today_and_start(context)[0]),
        present=len(plan["present"]),
        leave=len(plan["leave"]),
        absent=len(plan["absent"]),
    )
    return text, keyboard(rows)


RECORD_PROMPTS: dict[object, PromptFor] = {
    REC_TYPE: _record_type_prompt,
    REC_DATE: _record_date_prompt,
    REC_MEMBERS: _record_members_prompt,
    REC_CONFIRM: _record_confirm_prompt,
}


async def _record_ask(update: Update, context: Context, state: int, lang: str) -> int:
    await answer_once(update)
    await show(update, await RECORD_PROMPTS[state](update, context, lang))
    return state


@staff_only
async def record_command(update: Update, context: Context, member: Member) -> int:
    context.user_data[RECORD_KEY] = {}  # type: ignore[index]
    return await _record_ask(update, context, REC_TYPE, lang_of(member, context))


@staff_only
async def record_type(update: Update, context: Context, member: Member) -> int:
    code = (update.callback_query.data or "").removeprefix("rec:type:")  # type: ignore[union-attr]
    data = (context.user_data or {}).get(RECORD_KEY)
    if code not in {a.code for a in _record_types(context)} or not isinstance(data, dict):
        raise AskAgain("common.stale_button")
    data["type"] = code
    return await _record_ask(update, context, REC_DATE, lang_of(member, context))


async def _record_day(update: Update, context: Context, member: Member, day: date) -> int:
    today, start = _today_and_start(context)
    problem = check_day(day, today=today, period_start=start)
    if problem is not None:
        raise _day_refused(problem.value, day, start, today)
    context.user_data[RECORD_KEY]["date"] = day.isoformat()  # type: ignore[index]
    return await _record_ask(update, context, REC_MEMBERS, lang_of(member, context))


def _day_refused(problem: str, day: date | None, start: date, today: date) -> AskAgain:
    return AskAgain(
        f"report.date_{problem}",
        date=lambda lang: format_day(day, lang, today) if day else "",
        start=lambda lang: format_day(start, lang, today),
    )


def _today_and_start(context: Context) -> tuple[date, date]:
    d = deps(context)
    now = d.clock.now()
    return today_in(now, d.settings.tz), activities.period_start_day(d.rules, now, d.settings.tz)


@staff_only
async def record_day_button(update: Update, context: Context, member: Member) -> int:
    today, _ = _today_and_start(context)
    back = button_number(update, minimum=0, maximum=2) or 0  # the pattern allows only 0-2
    return await _record_day(update, context, member, today - timedelta(days=back))


@staff_only
async def record_day_typed(update: Update, context: Context, member: Member) -> int:
    today, start = _today_and_start(context)
    answer = parse_activity_date(update.effective_message.text or "", today=today, period_start=start)  # type: ignore[union-attr]
    if not answer.ok:
        assert answer.problem is not None
        raise _day_refused(answer.problem.value, answer.day, start, today)
    assert answer.day is not None
    return await _record_day(update, context, member, answer.day)


LABELS = {
    "present": tuple(all_texts("review.label_present")),
    "leave": tuple(all_texts("review.label_leave")),
    "absent": tuple(all_texts("review.label_absent")),
}
ALL_WORDS = {w.casefold() for w in all_texts("review.word_all")}


def parse_attendance_text(text: str) -> dict[str, list[str]]:
    """Lines "出席：全体" / "请假：张三、李四" / "缺席：王五"; unlabeled names are present."""
    out: dict[str, list[str]] = {"present": [], "leave": [], "absent": []}
    current = "present"
    for raw_line in text.splitlines():
        line = raw_line.strip()
        for status, labels in LABELS.items():
            for label in labels:
                if line.casefold().startswith(label.casefold()):
                    current = status
                    line = line[len(label) :].lstrip(" :：")
                    break
        out[current].extend(activities.split_names(line))
    return out


@staff_only
async def record_members(update: Update, context: Context, member: Member) -> int:
    lang = lang_of(member, context)
    assert update.effective_chat is not None
    data = context.user_data[RECORD_KEY]  # type: ignore[index]
    parsed = parse_attendance_text(update.effective_message.text or "")  # type: ignore[union-attr]
    everyone_present = any(n.casefold() in ALL_WORDS for n in parsed["present"])
    names = (
        [n for n in parsed["present"] if n.casefold() not in ALL_WORDS] + parsed["leave"] + parsed["absent"]
    )
    async with deps(context).db.session() as session:
        matched = await activities.match_names(session, names)
        everyone = await activities.active_member_ids(session)
    if matched.unknown or matched.ambiguous:
        raise AskAgain(
            "review.record_names_problem",
            hand_back=True,
            unknown="、".join(matched.unknown) or "—",
            ambiguous="、".join(matched.ambiguous) or "—",
        )
    ids = {status: [matched.found[n] for n in parsed[status] if n in matched.found] for status in parsed}
    try:
        plan = activities.plan_attendance(
            None if everyone_present else ids["present"], ids["leave"], ids["absent"], everyone
        )
    except ReportError as exc:
        raise AskAgain("review.record_listed_twice", hand_back=True, **exc.params) from None
    if plan.total == 0:
        raise AskAgain("review.record_nobody")
    data["plan"] = {"present": plan.present, "leave": plan.leave, "absent": plan.absent}
    return await _record_ask(update, context, REC_CONFIRM, lang)


@staff_only
async def record_confirm(update: Update, context: Context, member: Member) -> int:
    lang = lang_of(member, context)
    data = (context.user_data or {}).get(RECORD_KEY)
    if not isinstance(data, dict) or "plan" not in data:
        raise AskAgain("common.stale_button")
    context.user_data.pop(RECORD_KEY, None)  # type: ignore[union-attr]
    d = deps(context)
    plan = activities.AttendancePlan(**data["plan"])
    async with d.db.session() as session:
        created = await activities.record_plan(
            session,
            plan,
            type_code=data["type"],
            day=date.fromisoformat(data["date"]),
            now=d.clock.now(),
            rules=d.rules,
            recorded_by=member.id,
        )
    await answer_once(update)
    await _mark(
        update,
        t(
            "review.record_done",
            lang,
            present=created["present"],
            leave=created["leave"],
            absent=created["absent"],
        ),
    )
    return END


async def record_cancel(update: Update, context: Context) -> int:
    (context.user_data or {}).pop(RECORD_KEY, None)
    member = await _staff_or_end(update, context)
    if member is not None and update.effective_chat is not None:
        await answer_once(update)
        await update.effective_chat.send_message(t("review.record_cancelled", lang_of(member, context)))
    return END


def register(app: Application) -> None:
    minutes = app.bot_data["deps"].settings.dialog_timeout_minutes
    returning = dialog(
        "review_return",
        prompts={REASON: _reason_prompt},
        data_key=REASON_KEY,
        timeout_minutes=minutes,
        entry_points=[CallbackQueryHandler(ask_reason, pattern=r"^rv:ret:\d+$")],
        states={REASON: [MessageHandler(TYPED, reason_given)]},
        fallbacks=[CommandHandler("cancel", reason_cancel)],
    )
    recording = dialog(
        "record",
        prompts=RECORD_PROMPTS,
        buttons="rec:",
        data_key=RECORD_KEY,
        timeout_minutes=minutes,
        entry_points=[CommandHandler("record", record_command, filters=PRIVATE)],
        states={
            REC_TYPE: [CallbackQueryHandler(record_type, pattern=r"^rec:type:")],
            REC_DATE: [
                CallbackQueryHandler(record_day_button, pattern=r"^rec:day:[0-2]$"),
                MessageHandler(TYPED, record_day_typed),
            ],
            REC_MEMBERS: [MessageHandler(TYPED, record_members)],
            REC_CONFIRM: [CallbackQueryHandler(record_confirm, pattern=r"^rec:ok$")],
        },
        fallbacks=[
            CommandHandler("cancel", record_cancel),
            CallbackQueryHandler(record_cancel, pattern=r"^rec:cancel$"),
        ],
    )
    app.add_handler(returning)
    app.add_handler(recording)
    app.add_handler(CommandHandler("review", review_command, filters=PRIVATE))
    app.add_handler(MessageHandler(PRIVATE & filters.Regex(menu_pattern("menu.review")), review_command))
    app.add_handler(CallbackQueryHandler(approve, pattern=r"^rv:ok:"))
    app.add_handler(CallbackQueryHandler(skip, pattern=r"^rv:skip:"))
    # A 退回 press that is not a valid entry (forged id format) still gets the role and stale checks
    app.add_handler(CallbackQueryHandler(ask_reason, pattern=r"^rv:ret:"))
