"""Reading days and times as people type them, in Chinese or English, relative to "today" in
the committee's time zone — the one parser for every day or time typed into lvzhi (activity
reports, attendance, 社情民意 steps, events, deadlines, the command line).

Days: 今天 明天 后天 大后天 昨天 前天 大前天 · 3天前 3天后 · 2025-11-03 2025/11/3 2025.11.3
2025年11月3日 · 11-03 11/3 11月3日 11月3号 · 上周五 本周五 这周五 下周五 周五 星期五 礼拜五 ·
today tomorrow yesterday · 3 days ago · in 3 days · last/this/next friday · friday · Nov 3, 3 Nov,
November 3 2025. Times after the day: 14:30 14：30 14点 14点半 14点30分 下午2点 下午2:30 晚上7点
2pm 2:30 pm.

Settings and commands: a time of day 09:00 (`read_clock`), a weekly time MON 09:00
(`read_weekly_time`), an ISO week 2025-W47 (`read_iso_week`), a day 2025-12-20 (`read_iso_day`).

A day given without a year, or a bare weekday, looks backwards when the day asked for has passed
(an activity that took place: this year's 11月3日, or last year's if it has not come yet; the latest
周五) and forwards when it is still ahead (an event: the next 12月8日, the next 周五).
"上周五" is the Friday of the previous calendar week (weeks start on Monday), as Chinese speakers
use it; English "last friday" is the most recent Friday before today, as English speakers use it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum


class DateProblem(StrEnum):
    UNREADABLE = "unreadable"  # not a form we know
    NO_SUCH_DAY = "no_such_day"  # 2025-02-30
    FUTURE = "future"
    BEFORE_PERIOD = "before_period"
    NO_TIME = "no_time"  # a day where a time of day was wanted
    NO_SUCH_TIME = "no_such_time"  # 25:00


@dataclass(frozen=True)
class DateAnswer:
    day: date | None
    problem: DateProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


# Dates people type (meeting days, event times, deadlines, weeks, report years) must fall in these
# years: anything else is a typo, and near the ends of Python's calendar adding a day or a time zone
# overflows (a deadline on 9999-12-31 broke the hourly sweep).
FIRST_YEAR, LAST_YEAR = 2000, 2100


def year_in_range(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR


def read_iso_day(text: str) -> date | None:
    """A day written 2025-12-20 (or 2025/12/20) within the supported years, else None."""
    try:
        day = date.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        return None
    return day if year_in_range(day.year) else None


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_WEEKLY = re.compile(r"^(?:([a-z]{3})[a-z]*\s+)?(\S+)$")
_ISO_WEEK = re.compile(r"^(\d{4})\s*-?\s*w\s*(\d{1,2})$")


def read_clock(text: str) -> time | None:
    """A time of day written 09:00 or 9:00 (seconds allowed: 09:00:00), else None."""
    m = _CLOCK.match((text or "").strip())
    if m is None:
        return None
    hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    return time(hour, minute, second) if hour <= 23 and minute <= 59 and second <= 59 else None


def read_weekly_time(text: str) -> tuple[int, time] | None:
    """A weekday and a time of day, `MON 09:00` (`Monday 9:00`; no weekday: Monday) → (0 = Monday, time)."""
    m = _WEEKLY.match((text or "").strip().lower())
    if m is None:
        return None
    weekday = WEEKDAYS_EN.get(m.group(1), -1) if m.group(1) else 0
    at = read_clock(m.group(2))
    return (weekday, at) if weekday >= 0 and at is not None else None


def read_iso_week(text: str) -> tuple[int, int] | None:
    """An ISO week written 2025-W47 (or 2025W47, 2025-w47) within the supported years → (year, week)."""
    m = _ISO_WEEK.match((text or "").strip().lower())
    if m is None:
        return None
    year, week = int(m.group(1)), int(m.group(2))
    if not year_in_range(year):
        return None
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        return None
    return year, week
@dataclass(frozen=True)
class MomentAnswer:
    at: datetime | None  # aware UTC
    problem: DateProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
WEEKDAYS_EN = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
MONTHS_EN = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
RELATIVE_DAYS = {  # days after today (negative: before)
    "今天": 0,
    "今日": 0,
    "明天": 1,
    "明日": 1,
    "后天": 2,
    "大后天": 3,
    "昨天": -1,
    "昨日": -1,
    "前天": -2,
    "大前天": -3,
    "today": 0,
    "tomorrow": 1,
    "the day after tomorrow": 2,
    "yesterday": -1,
    "the day before yesterday": -2,
}
ZH_NUMBERS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
# Monday-based weeks named relative to this one.
ZH_WEEKS = {"上上": -2, "上": -1, "本": 0, "这": 0, "這": 0, "下": 1, "下下": 2}

_FULL = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_MONTH_DAY = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_DAYS_OFF = re.compile(r"^(\d{1,3}|[一二两三四五六七八九十])\s*(天前|日前|days? ago|天后|日后)$")
_IN_DAYS = re.compile(r"^in\s+(\d{1,3})\s+days?$")
_ZH_WEEKDAY = re.compile(r"^(上上|上|本|这|這|下下|下)?(?:周|星期|礼拜|禮拜)([一二三四五六日天])$")
_EN_WEEKDAY = re.compile(r"^(last\s+|this\s+|next\s+|on\s+)?(mon|tue|wed|thu|fri|sat|sun)[a-z]*$")
_EN_MONTH_FIRST = re.compile(r"^([a-z]{3})[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?$")
_EN_DAY_FIRST = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]{3})[a-z]*\.?(?:,?\s+(\d{4}))?$")
# A time of day at the end of the text: 14:30, 14点半, 下午2点, 2:30pm, 7 pm.
_TIME = re.compile(
    r"(?:^|(?<=[\s日号天周期拜一二三四五六末\d]))\s*"
    r"(?P<half>上午|早上|早晨|中午|下午|晚上|傍晚)?\s*"
    r"(?P<hour>\d{1,2})\s*(?::\s*(?P<minute>\d{2})(?::\d{2})?|点\s*(?:(?P<zh_minute>\d{1,2})\s*分?|(?P<halfhour>半))?)"
    r"\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?$"
)
_TIME_AMPM = re.compile(r"(?:^|\s)(?P<hour>\d{1,2})\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)$")


def today_in(now: datetime, zone: tzinfo) -> date:
    """The committee's calendar day at `now`."""
    return now.astimezone(zone).date()


def _normalise(text: str) -> str:
    # NFKC turns full-width digits and punctuation (２０２５－１１－０３) into ASCII.
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip().lower().rstrip("。.!！")


def _safe(year: int, month: int, day: int) -> date | None:
    """The day, if it exists and lies in the supported years."""
    if not year_in_range(year):
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_day(month: int, day: int, today: date, ahead: bool) -> date | None:
    """The day of this year, or of the year before (looking back) / after (looking ahead) when this
    year's is on the wrong side of today."""
    candidate = _safe(today.year, month, day)
    if candidate is not None and (candidate >= today if ahead else candidate <= today):
        return candidate
    return _safe(today.year + (1 if ahead else -1), month, day)


def _nearest_weekday(today: date, weekday: int, ahead: bool) -> date:
    """The latest (or, looking ahead, the next) such weekday, today included."""
    if ahead:
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    return today - timedelta(days=(today.weekday() - weekday) % 7)


def _read(text: str, today: date, ahead: bool) -> date | DateProblem:
    if text in RELATIVE_DAYS:
        return today + timedelta(days=RELATIVE_DAYS[text])
    if m := _DAYS_OFF.match(text):
        raw = m.group(1)
        count = int(raw) if raw.isdigit() else ZH_NUMBERS[raw]
        return today + timedelta(days=count if m.group(2) in ("天后", "日后") else -count)
    if m := _IN_DAYS.match(text):
        return today + timedelta(days=int(m.group(1)))
    if m := _FULL.match(text):
        found = _safe(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return found if found else DateProblem.NO_SUCH_DAY
    if m := _MONTH_DAY.match(text):
        found = _month_day(int(m.group(1)), int(m.group(2)), today, ahead)
        return found if found else DateProblem.NO_SUCH_DAY
    if m := _ZH_WEEKDAY.match(text):
        prefix, weekday = m.group(1), WEEKDAYS_ZH[m.group(2)]
        if prefix is None:
            return _nearest_weekday(today, weekday, ahead)
        monday = today - timedelta(days=today.weekday())
        return monday + timedelta(weeks=ZH_WEEKS[prefix], days=weekday)
    if m := _EN_WEEKDAY.match(text):
        prefix, weekday = (m.group(1) or "").strip(), WEEKDAYS_EN[m.group(2)]
        if prefix == "this":
            return today - timedelta(days=today.weekday()) + timedelta(days=weekday)
        if prefix == "last":
            back = (today.weekday() - weekday) % 7 or 7
            return today - timedelta(days=back)
        if prefix == "next":
            return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
        return _nearest_weekday(today, weekday, ahead)
    for pattern, month_group, day_group in ((_EN_MONTH_FIRST, 1, 2), (_EN_DAY_FIRST, 2, 1)):
        if m := pattern.match(text):
            month = MONTHS_EN.get(m.group(month_group)[:3])
            if month is None:
                return DateProblem.UNREADABLE
            day = int(m.group(day_group))
            found = (
                _safe(int(m.group(3)), month, day) if m.group(3) else _month_day(month, day, today, ahead)
            )
            return found if found else DateProblem.NO_SUCH_DAY
    return DateProblem.UNREADABLE


def parse_day(text: str, *, today: date, ahead: bool = False) -> DateAnswer:
    """Any day `text` names, in the past or the future; `ahead`: a day without a year, or a bare
    weekday, is the next one rather than the latest."""
    found = _read(_normalise(text), today, ahead)
    return DateAnswer(None, found) if isinstance(found, DateProblem) else DateAnswer(found)


def parse_activity_date(text: str, *, today: date, period_start: date | None = None) -> DateAnswer:
    """The day of something that took place: not after `today`, not before `period_start` (if given)."""
    answer = parse_day(text, today=today)
    if answer.day is None:
        return answer
    return DateAnswer(answer.day, check_day(answer.day, today=today, period_start=period_start))


def check_day(day: date, *, today: date, period_start: date | None = None) -> DateProblem | None:
    """The same checks for a day that came from a button or a stored draft."""
    if day > today:
        return DateProblem.FUTURE
    if period_start is not None and day < period_start:
        return DateProblem.BEFORE_PERIOD
    return None


def _split_time(text: str) -> tuple[str, time | None | DateProblem]:
    """`text` without its time of day at the end, and that time (None: no time given)."""
    m = _TIME.search(text) or _TIME_AMPM.search(text)
    if m is None:
        return text, None
    groups = m.groupdict()
    hour = int(groups["hour"])
    minute = int(groups.get("minute") or groups.get("zh_minute") or 0)
    if groups.get("halfhour"):
        minute = 30
    half, ampm = groups.get("half"), (groups.get("ampm") or "").replace(".", "")
    if (half in ("下午", "晚上", "傍晚") or ampm == "pm") and hour < 12:
        hour += 12
    elif half == "中午" and hour < 6:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return text[: m.start()].strip(), DateProblem.NO_SUCH_TIME
    return text[: m.start()].strip(), time(hour, minute)


def parse_moment(text: str, *, now: datetime, zone: tzinfo, day: date | None = None) -> MomentAnswer:
    """A day and a time of day (`12月8日 14:30`, `下周二 下午2点`, `2026-12-08 14:30`, `tomorrow 9:00`),
    looking ahead, in the committee's zone → aware UTC. A time alone is on `day` (default today)."""
    cleaned = re.sub(r"^(\d{4}-\d{1,2}-\d{1,2})t", r"\1 ", _normalise(text))  # ISO 2025-12-01T14:30
    rest, at = _split_time(cleaned)
    if isinstance(at, DateProblem):
        return MomentAnswer(None, at)
    today = today_in(now, zone)
    if at is None:
        problem = DateProblem.NO_TIME if parse_day(rest, today=today).ok else DateProblem.UNREADABLE
        return MomentAnswer(None, problem)
    rest = rest.rstrip(" ,，")
    if rest:
        answer = parse_day(rest, today=today, ahead=True)
        if answer.day is None:
            return MomentAnswer(None, answer.problem)
        on = answer.day
    else:
        on = day or today
    return MomentAnswer(datetime.combine(on, at, tzinfo=zone).astimezone(UTC))


WEEKDAY_NAMES = {
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
MONTH_NAMES_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_day(day: date, lang: str, today: date | None = None) -> str:
    """A day as people read it, the one style everywhere: 2025年12月2日（周二）, or 12月2日（周二）
    when `today` is in the same year; Tue 2 Dec 2025 / Tue 2 Dec in English."""
    weekday = WEEKDAY_NAMES["en" if lang == "en" else "zh"][day.weekday()]
    same_year = today is not None and today.year == day.year
    if lang == "en":
        return f"{weekday} {day.day} {MONTH_NAMES_EN[day.month - 1]}" + ("" if same_year else f" {day.year}")
    return ("" if same_year else f"{day.year}年") + f"{day.month}月{day.day}日（{weekday}）"


def short_day(day: date, lang: str) -> str:
    """A day the way people type it: 12月9日 / Dec 9."""
    return f"{MONTH_NAMES_EN[day.month - 1]} {day.day}" if lang == "en" else f"{day.month}月{day.day}日"


def format_moment(moment: datetime, zone: tzinfo, lang: str, today: date | None = None) -> str:
    """A moment in the committee's zone: 12月2日（周二）14:30."""
    shown = moment.astimezone(zone) if moment.tzinfo else moment.replace(tzinfo=UTC).astimezone(zone)
    gap = "" if lang != "en" else " "
    return f"{format_day(shown.date(), lang, today)}{gap}{shown:%H:%M}"


def format_span(start: datetime, end: datetime, zone: tzinfo, lang: str, today: date | None = None) -> str:
    """From start to end: 12月8日（周二）14:30–16:30, or with both days when it spans two."""
    first, last = start.astimezone(zone), end.astimezone(zone)
    if first.date() == last.date():
        return f"{format_moment(first, zone, lang, today)}–{last:%H:%M}"
    return f"{format_moment(first, zone, lang, today)} – {format_moment(last, zone, lang, today)}"
