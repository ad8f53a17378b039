"""The digest's chart (PNG, matplotlib with the Agg backend, no pyplot: safe in a worker thread).

Chinese labels need a font that carries CJK glyphs, otherwise matplotlib draws boxes. The bot looks
for one it knows (Noto Sans CJK from Debian's fonts-noto-cjk, Source Han Sans, WenQuanYi, …; or
the file named by LVZHI_CJK_FONT) and checks with the font's cmap that it covers every label. With
no such font the chart falls back to English labels instead of boxes.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from bot.core.i18n import t
from bot.core.rules import INFO_LEVELS, Rules  # noqa: E402
from bot.services.digest import Count, Digest, type_label  # noqa: E402
from bot.services.info import level_label  # noqa: E402

log = logging.getLogger(__name__)

# Families that carry simplified Chinese, most preferred first.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
    "Droid Sans Fallback",
)
# Probe characters every CJK font for this bot must have (common words of the labels).
PROBE = "履职报告社情民意委员会本周上周"
MAX_BARS = 12


@dataclass(frozen=True)
class ChartFont:
    family: str
    path: str
    index: int  # face in a .ttc collection


def _cmap(path: str, index: int) -> set[int]:
    from fontTools.ttLib import TTCollection, TTFont

    if path.lower().endswith((".ttc", ".otc")):
        font = TTCollection(path, lazy=True).fonts[index]
    else:
        font = TTFont(path, lazy=True)
    return set(font.getBestCmap() or {})


@cache
def font_cmap(path: str, index: int = 0) -> frozenset[int]:
    """Code points the font file (face `index`) has glyphs for."""
    return frozenset(_cmap(path, index))


def covers(font: ChartFont, text: str) -> bool:
    cmap = font_cmap(font.path, font.index)
    return all(ord(ch) in cmap for ch in text if not ch.isspace())


def _weight(value: object) -> int:
    return value if isinstance(value, int) else font_manager.weight_dict.get(str(value), 400)


def _regular_faces() -> dict[str, font_manager.FontEntry]:
    """The regular face of each font family matplotlib knows, if there is one."""
    entries: dict[str, font_manager.FontEntry] = {}
    for entry in font_manager.fontManager.ttflist:
        known = entries.get(entry.name)
        if known is None or abs(_weight(entry.weight) - 400) < abs(_weight(known.weight) - 400):
            entries[entry.name] = entry
    return entries


@cache
def find_cjk_font() -> ChartFont | None:
    """The CJK font the chart uses, or None (then the chart is drawn in English)."""
    override = os.environ.get("LVZHI_CJK_FONT")
    if override and Path(override).is_file():
        font_manager.fontManager.addfont(override)
        family = font_manager.FontProperties(fname=override).get_name()
        found = ChartFont(family, override, 0)
        if covers(found, PROBE):
            return found
        log.warning("LVZHI_CJK_FONT=%s lacks Chinese glyphs; looking for another font", override)
    entries = _regular_faces()
    if not any(family in entries for family in CJK_FAMILIES):
        # matplotlib caches the font list on first use: CJK fonts installed since are not in it
        known = {entry.fname for entry in font_manager.fontManager.ttflist}
        for path in font_manager.findSystemFonts():
            if "cjk" in Path(path).name.lower() and path not in known:
                font_manager.fontManager.addfont(path)
        entries = _regular_faces()
    for family in CJK_FAMILIES:
        entry = entries.get(family)
        if entry is None:
            continue
        found = ChartFont(family, entry.fname, int(getattr(entry, "index", 0) or 0))
        try:
            if covers(found, PROBE):
                return found
        except Exception as exc:  # an unreadable font file: try the next one
            log.warning("font %s unreadable: %s", entry.fname, exc)
    log.warning("no CJK font found (install fonts-noto-cjk); digest charts use English labels")
    return None


def chart_language(lang: str, labels: list[str]) -> tuple[str, ChartFont | None]:
    """The language the chart can be drawn in: Chinese only with a font that covers the labels."""
    font = find_cjk_font()
    if lang == "zh" and (font is None or not all(covers(font, label) for label in labels)):
        return "en", font
    return lang, font


def _top(current: dict[str, Count], previous: dict[str, Count]) -> list[str]:
    keys = sorted(
        set(current) | set(previous),
        key=lambda k: (-current.get(k, Count()).submitted, -previous.get(k, Count()).submitted, k),
    )
    return keys[:MAX_BARS]


SUBJECTS = ("types", "committees", "info")
WIDTH_IN, DPI = 4.0, 200  # 800 px: sharp on a phone, which shows it about 400 px wide
THIS_WEEK, LAST_WEEK = "#c0392b", "#b3b9bf"


@dataclass(frozen=True)
class Bars:
    """One chart: a subject's labels and this week's and last week's counts."""

    subject: str
    title: str
    labels: list[str]
    now: list[int]
    before: list[int]


def _subjects(digest: Digest, lang: str, rules: Rules) -> list[Bars]:
    cur, prev = digest.current, digest.previous
    types = _top(cur.by_type, prev.by_type)
    committees = _top(cur.by_committee, prev.by_committee)
    info_keys = ["submitted", "accepted", "instructions", *INFO_LEVELS, "transferred"]

    def info_value(numbers, key: str) -> int:  # type: ignore[no-untyped-def]
        return int(numbers.info_reported.get(key, 0) if key in INFO_LEVELS else getattr(numbers, f"info_{key}"))

    return [
        Bars(
            "types",
            t("digest.chart_types", lang),
            [type_label(rules, c, lang) for c in types],
            [cur.by_type.get(c, Count()).submitted for c in types],
            [prev.by_type.get(c, Count()).submitted for c in types],
        ),
        Bars(
            "committees",
            t("digest.chart_committees", lang),
            [c or t("digest.unassigned", lang) for c in committees],
            [cur.by_committee.get(c, Count()).submitted for c in committees],
            [prev.by_committee.get(c, Count()).submitted for c in committees],
        ),
        Bars(
            "info",
            t("digest.chart_info", lang),
            [
                t("digest.chart_reported", lang, level=level_label(k, lang))
                if k in INFO_LEVELS
                else t(f"digest.chart_info_{k}", lang)
                for k in info_keys
            ],
            [info_value(cur, k) for k in info_keys],
            [info_value(prev, k) for k in info_keys],
        ),
    ]


def _wrap(label: str, width: int = 8) -> str:
    """A long Chinese label on two balanced lines (after a 、 or before a （ when there is one), so
    the bars keep most of a phone's width; longer than two lines is cut with …."""
    if len(label) <= width or label.isascii():
        return label
    half = (len(label) + 1) // 2
    breaks = [i + 1 for i, ch in enumerate(label) if ch in "、，"] + [i for i, ch in enumerate(label) if ch == "（"]
    cut = min(breaks, key=lambda i: abs(i - half)) if breaks else half
    if not 2 <= cut <= width + 1:
        cut = half
    first, rest = label[:cut], label[cut:]
    limit = max(width + 1, len(first))
    return first + "\n" + (rest if len(rest) <= limit else rest[: limit - 1] + "…")


def _draw(fig: Figure, bars: Bars, lang: str, week_text: str) -> None:
    from matplotlib.ticker import MaxNLocator

    ax = fig.subplots()
    positions = list(range(len(bars.labels)))
    height = 0.38
    this = ax.barh([p - height / 2 for p in positions], bars.now, height, color=THIS_WEEK,
                   label=t("digest.chart_this_week", lang))  # fmt: skip
    last = ax.barh([p + height / 2 for p in positions], bars.before, height, color=LAST_WEEK,
                   label=t("digest.chart_last_week", lang))  # fmt: skip
    for group in (this, last):  # both weeks labelled, zeros too: a missing bar is a 0, not a gap
        ax.bar_label(group, padding=2, fontsize=8)
    ax.set_yticks(positions, [_wrap(label) for label in bars.labels], fontsize=9)
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.5 ticks
    ax.set_xlim(0, max([*bars.now, *bars.before, 1]) * 1.18 + 0.3)
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(week_text, fontsize=9, color="#555555", loc="left")
    fig.suptitle(bars.title, fontsize=12, x=0.02, ha="left")
    # The legend goes below the bars, outside them, so it never hides one.
    fig.legend(handles=[this, last], loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    if not bars.labels:
        ax.set_yticks([])
        ax.text(0.5, 0.5, t("digest.none", lang), ha="center", va="center", transform=ax.transAxes)


def build_figures(digest: Digest, lang: str, rules: Rules) -> list[tuple[str, Figure]]:
    """One phone-sized chart per subject: reports by type, by committee, 社情民意; this week vs last."""
    from bot.services.digest import label as week_text

    digest_lang = lang
    subjects = _subjects(digest, lang, rules)
    fixed = [s for b in subjects for s in (b.title, *(b.labels if b.subject != "committees" else []))]
    fixed += [week_text(digest, lang), t("digest.chart_this_week", lang), t("digest.chart_last_week", lang)]
    lang, font = chart_language(lang, fixed)
    if lang != digest_lang:
        subjects = _subjects(digest, lang, rules)
    committees = subjects[1]
    if font is None or not all(covers(font, s) for s in committees.labels):
        # Committee names are free text: shown only where the font has their glyphs.
        committees = Bars(committees.subject, committees.title,
                          [s if s.isascii() else f"#{i + 1}" for i, s in enumerate(committees.labels)],
                          committees.now, committees.before)  # fmt: skip
        subjects[1] = committees
    families = [font.family, "DejaVu Sans"] if font is not None else ["DejaVu Sans"]
    out = []
    with matplotlib.rc_context({"font.family": families, "axes.unicode_minus": False}):
        for bars in subjects:
            rows = max(len(bars.labels), 1)
            fig = Figure(figsize=(WIDTH_IN, 1.45 + rows * 0.42), dpi=DPI, layout="constrained")
            FigureCanvasAgg(fig)
            _draw(fig, bars, lang, week_text(digest, lang))
            fig.canvas.draw()  # lay out now, inside the font context
            out.append((bars.subject, fig))
    return out


def build_figure(digest: Digest, lang: str, rules: Rules) -> Figure:
    """The first chart (reports by type), for checks of fonts and labels."""
    return build_figures(digest, lang, rules)[0][1]


def render_pngs(digest: Digest, lang: str, rules: Rules) -> list[tuple[str, bytes]]:
    """(subject, PNG) for each chart."""
    found = find_cjk_font()
    families = [found.family, "DejaVu Sans"] if found else ["DejaVu Sans"]
    out = []
    for subject, fig in build_figures(digest, lang, rules):
        buffer = io.BytesIO()
        with matplotlib.rc_context({"font.family": families}):
            fig.savefig(buffer, format="png")
        out.append((subject, buffer.getvalue()))
    return out


def figure_texts(fig: Figure) -> list[tuple[str, str]]:
    """(text, font file) of every visible text in the figure, for checks."""
    out = []
    for text in fig.findobj(Text):
        assert isinstance(text, Text)
        value = text.get_text()
        if value and text.get_visible():
            out.append((value, str(font_manager.findfont(text.get_fontproperties()))))
    return out
