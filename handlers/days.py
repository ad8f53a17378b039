"""The day of an activity, asked the same way by /report and /record: buttons for 今天 / 昨天 / 前天
(counted at the moment of the press, in the committee's zone) or a typed date, both checked
against the assessment period (bot.core.dates.check_day)."""

from __future__ import annotations

from datetime import date, timedelta

from bot.core.dates import check_day, format_day, parse_activity_date, today_in
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.services import activities
from bot.telegram.ui import Button, Buttons, Context, Row

DAYS_BACK = range(0, 3)  # 今天, 昨天, 前天
LABELS = ("report.btn_today", "report.btn_yesterday", "report.btn_day_before")


def day_button(buttons: Buttons) -> Button:
    """The feature's day button: `<prefix>:day:<days back>`."""
    return buttons("day", numbers=DAYS_BACK)


def day_row(button: Button, lang: str) -> Row:
    return [(t(label, lang), button(back)) for back, label in zip(DAYS_BACK, LABELS, strict=True)]


def today(context: Context) -> date:
    d = context.deps
    return today_in(d.clock.now(), d.settings.tz)


def period_start(context: Context) -> date:
    d = context.deps
    return activities.period_start_day(d.rules, d.clock.now(), d.settings.tz)


def refused(context: Context, problem: str, day: date | None) -> AskAgain:
    """Why a day is refused, with the day and the period's first day (in the reader's language)."""
    start, now = period_start(context), today(context)
    return AskAgain(
        f"report.date_{problem}",
        date=lambda lang: format_day(day, lang, now) if day else "",
        start=lambda lang: format_day(start, lang, now),
    )


def problem_of(context: Context, day: date) -> AskAgain | None:
    """Why `day` cannot be an activity's day now (it left the period, it is ahead), or None."""
    problem = check_day(day, today=today(context), period_start=period_start(context))
    return refused(context, problem.value, day) if problem is not None else None


def pressed(context: Context, back: int) -> date:
    """The day a day button means now; refused (AskAgain) when it cannot be an activity's day."""
    day = today(context) - timedelta(days=back)
    if (problem := problem_of(context, day)) is not None:
        raise problem
    return day


def typed(context: Context, text: str) -> date:
    """The day typed (11月3日, 昨天, 2025-11-03 …); refused (AskAgain) when it cannot be one."""
    answer = parse_activity_date(text, today=today(context), period_start=period_start(context))
    if not answer.ok or answer.day is None:
        raise refused(context, answer.problem.value if answer.problem else "unreadable", answer.day)
    return answer.day
