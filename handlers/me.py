"""/me and the 👤 menu button: this period's points (confirmed and pending, by type, against the
pass and excellent marks), what is still owed, the last reports. /myreports: all reports, page by
page, where a pending or returned one can be corrected or withdrawn. No ranking of anyone."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.core.dates import format_day, today_in
from bot.core.i18n import t
from bot.services import activities
from bot.services.figures import PointsSummary, TypePoints, points_for_now
from bot.telegram.ui import OFFSETS, ROW_IDS, App, Buttons, Context, Row, answer_once, keyboard, refuse, reply
from handlers.common import PRIVATE, lang_of, member_only, menu_button
from handlers.report import EDIT
from models import ActivityReport, Member
from models.activity import PRESENT, RETURNED

PAGE_SIZE = 5
RECENT = 5

BUTTONS = Buttons("my")
PAGE = BUTTONS("page", numbers=OFFSETS)
WITHDRAW = BUTTONS("wd", numbers=ROW_IDS)  # asks once more
WITHDRAW_YES = BUTTONS("wdy", numbers=ROW_IDS)  # withdraws


def _pts(value: float) -> str:
    return f"{value:g}"


def owed_line(key: str, missing: int, context: Context, lang: str) -> str:
    if key == "info":
        return t("me.owed_info", lang, count=missing)
    if key == "activity":
        return t("me.owed_activity", lang, count=missing)
    if key == "proposal":
        return t("proposals_figures.me_owed", lang, count=missing)
    activity = context.deps.rules.activities.get(key)
    return t("me.owed_type", lang, count=missing, type=activity.label(lang) if activity else key)


def status_text(report: ActivityReport, lang: str) -> str:
    if report.attendance and report.attendance != PRESENT:
        return t(f"me.attendance_{report.attendance}", lang)
    return t(f"me.status_{report.status}", lang)


def report_line(context: Context, report: ActivityReport, lang: str) -> str:
    d = context.deps
    activity = d.rules.activities.get(report.type_code)
    return t(
        "me.report_line",
        lang,
        id=report.id,
        date=format_day(report.activity_date, lang, today_in(d.clock.now(), d.settings.tz)),
        type=activity.label(lang) if activity else report.type_code,
        status=status_text(report, lang),
    )


def type_line(item: TypePoints, label: str, lang: str) -> str:
    """`· 全体会议：-10 分（缺席 1 次，扣 10 分）`: a leave or an absence says what it is."""
    parts = []
    if item.confirmed_count or not (item.leave_count or item.absent_count):
        parts.append(t("me.count_took_part", lang, count=item.confirmed_count))
    if item.leave_count:
        parts.append(t("me.count_leave", lang, count=item.leave_count, points=_pts(item.leave_points)))
    if item.absent_count:
        key = "me.count_absent" if item.absent_points < 0 else "me.count_absent_no_points"
        parts.append(t(key, lang, count=item.absent_count, points=_pts(abs(item.absent_points))))
    sep = "；" if lang == "zh" else "; "
    return t("me.type_line", lang, type=label, points=_pts(item.confirmed), details=sep.join(parts))


def points_text(
    context: Context, member: Member, summary: PointsSummary, recent: list[ActivityReport], lang: str
) -> str:
    zone = context.deps.settings.tz
    year = summary.start.astimezone(zone).year
    lines = [
        t("me.header", lang, name=member.name, year=year),
        t("me.totals", lang, confirmed=_pts(summary.confirmed), pending=_pts(summary.pending)),
    ]
    if summary.excellent:
        lines.append(t("me.mark_excellent", lang, excellent=_pts(summary.excellent_mark)))
    elif summary.passed:
        lines.append(
            t(
                "me.mark_passed",
                lang,
                to_excellent=_pts(summary.excellent_mark - summary.confirmed),
                excellent=_pts(summary.excellent_mark),
            )
        )
    else:
        lines.append(
            t(
                "me.mark_below",
                lang,
                to_pass=_pts(summary.pass_mark - summary.confirmed),
                passmark=_pts(summary.pass_mark),
                excellent=_pts(summary.excellent_mark),
            )
        )
    rules = context.deps.rules
    if summary.by_type or summary.info_submitted or summary.proposals:
        lines.append("")
        lines.append(t("me.by_type_header", lang))
        for item in summary.by_type:
            activity = rules.activities.get(item.code)
            label = activity.label(lang) if activity else item.code
            line = type_line(item, label, lang)
            if item.capped:
                line += t("me.type_capped", lang, cap=_pts(item.cap or 0))
            if item.pending_count:
                line += t("me.type_pending", lang, count=item.pending_count, points=_pts(item.pending))
            lines.append(line)
        if summary.info_submitted or summary.info_points:
            lines.append(
                t("me.info_line", lang, points=_pts(summary.info_points), count=summary.info_submitted)
            )
        if summary.proposals or summary.proposal_points:
            lines.append(
                t("proposals_figures.me_line", lang, points=_pts(summary.proposal_points), count=summary.proposals)
            )
    lines.append("")
    if summary.owed:
        lines.append(t("me.owed_header", lang))
        lines.extend("· " + owed_line(o.key, o.missing, context, lang) for o in summary.owed)
    else:
        lines.append(t("me.owed_none", lang))
    lines.append("")
    if recent:
        lines.append(t("me.recent_header", lang))
        lines.extend(report_line(context, r, lang) for r in recent)
    else:
        lines.append(t("me.no_reports", lang))
    return "\n".join(lines)


@member_only
async def me(update: Update, context: Context, member: Member) -> None:
    """/me: where the member stands this period."""
    assert member.id is not None
    d = context.deps
    lang = lang_of(member, context)
    async with d.db.session() as session:
        summary = await points_for_now(
            session, member.id, now=d.clock.now(), rules=d.rules, zone=d.settings.tz
        )
        recent, _ = await activities.list_reports(session, member.id, limit=RECENT)
    await reply(update, points_text(context, member, summary, recent, lang))


def _page_markup(
    reports: list[ActivityReport], page: int, total: int, lang: str
) -> InlineKeyboardMarkup | None:
    rows: list[Row] = [
        [(t("me.btn_edit", lang, id=r.id), EDIT(r.id)), (t("me.btn_withdraw", lang, id=r.id), WITHDRAW(r.id))]
        for r in reports
        if r.id is not None and r.status in activities.EDITABLE and r.attendance is None
    ]
    nav = []
    if page > 0:
        nav.append((t("me.btn_prev", lang), PAGE(page - 1)))
    if (page + 1) * PAGE_SIZE < total:
        nav.append((t("me.btn_next", lang), PAGE(page + 1)))
    rows.append(nav)
    markup = keyboard(rows)
    return markup if markup.inline_keyboard else None


async def _reports_page(
    context: Context, member: Member, page: int, lang: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    assert member.id is not None
    async with context.deps.db.session() as session:
        reports, total = await activities.list_reports(
            session, member.id, offset=page * PAGE_SIZE, limit=PAGE_SIZE
        )
    if total == 0:
        return t("me.no_reports_yet", lang), None
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(page, pages - 1)
    lines = [t("me.myreports_header", lang, page=page + 1, pages=pages, total=total)]
    for report in reports:
        lines.append(report_line(context, report, lang))
        if report.status == RETURNED and report.return_reason:
            lines.append(t("me.return_reason", lang, reason=report.return_reason))
    return "\n".join(lines), _page_markup(reports, page, total, lang)


@member_only
async def myreports(update: Update, context: Context, member: Member) -> None:
    """/myreports: the newest reports first, five a page."""
    text, markup = await _reports_page(context, member, 0, lang_of(member, context))
    await reply(update, text, markup)


@member_only
async def page_button(update: Update, context: Context, member: Member) -> None:
    assert update.callback_query is not None
    lang = lang_of(member, context)
    text, markup = await _reports_page(context, member, PAGE.read(update).number, lang)
    await answer_once(update)
    try:
        await update.callback_query.edit_message_text(text, reply_markup=markup)
    except BadRequest:  # unchanged or too old: send it anew
        await reply(update, text, markup)


@member_only
async def withdraw_ask(update: Update, context: Context, member: Member) -> None:
    """🗑: asks once more, if the report is the caller's and still open."""
    assert member.id is not None
    lang = lang_of(member, context)
    report_id = WITHDRAW.read(update).number
    async with context.deps.db.session() as session:
        report = await activities.own_report(session, report_id, member.id)
    if report is None or report.status not in activities.EDITABLE or report.attendance is not None:
        await refuse(update, t("me.cannot_withdraw", lang))
        return
    rows = [
        [(t("me.btn_withdraw_yes", lang), WITHDRAW_YES(report_id)), (t("me.btn_withdraw_no", lang), PAGE(0))]
    ]
    await reply(update, t("me.withdraw_confirm", lang, id=report_id), keyboard(rows))


@member_only
async def withdraw(update: Update, context: Context, member: Member) -> None:
    """确认撤回: withdraws, if the report is the caller's and still open (checked again)."""
    assert member.id is not None
    lang = lang_of(member, context)
    report_id = WITHDRAW_YES.read(update).number
    d = context.deps
    async with d.db.session() as session:
        done = await activities.withdraw_report(
            session, report_id=report_id, member_id=member.id, now=d.clock.now()
        )
    if not done:
        await refuse(update, t("me.cannot_withdraw", lang))
        return
    await reply(update, t("me.withdrawn", lang, id=report_id))


def register(app: App) -> None:
    app.add_handler(CommandHandler("me", me, filters=PRIVATE))
    app.add_handler(MessageHandler(menu_button("menu.me"), me))
    app.add_handler(CommandHandler("myreports", myreports, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(page_button, pattern=PAGE.matches))
    app.add_handler(CallbackQueryHandler(withdraw_ask, pattern=WITHDRAW.matches))
    app.add_handler(CallbackQueryHandler(withdraw, pattern=WITHDRAW_YES.matches))
