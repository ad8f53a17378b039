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

from bot.digest import Count, Digest, type_label  # noqa: E402
from bot.i18n import t
from bot.info import level_label  # noqa: E402
from bot.rules import INFO_LEVELS, Rules  # noqa: E402

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
        entry = font_manager.FontProperties(fname=override)
        family = entry.get_name()
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


def _bars(ax, labels: list[str], now: list[int], before: list[int], lang: str, title: str) -> None:  # type: ignore[no-untyped-def]
    positions = list(range(len(labels)))
    height = 0.4
    ax.barh(
        [p - height / 2 for p in positions],
        now,
        height,
        label=t("digest.chart_this_week", lang),
        color="#c0392b",
    )
    ax.barh(
        [p + height / 2 for p in positions],
        before,
        height,
        label=t("digest.chart_last_week", lang),
        color="#bdc3c7",
    )
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    for p, value in zip(positions, now, strict=True):
        if value:
            ax.text(value, p - height / 2, f" {value}", va="center", fontsize=8)
    if not labels:
        ax.text(0.5, 0.5, t("digest.none", lang), ha="center", va="center", transform=ax.transAxes)


def build_figure(digest: Digest, lang: str, rules: Rules) -> Figure:
    """The chart as a matplotlib Figure: reports by type and by committee, 社情民意, this week vs last."""
    cur, prev = digest.current, digest.previous
    types = _top(cur.by_type, prev.by_type)
    committees = _top(cur.by_committee, prev.by_committee)
    info_keys = ["submitted", "accepted", *INFO_LEVELS, "transferred"]

    def labels_in(language: str) -> tuple[list[str], list[str], list[str], list[str]]:
        return (
            [type_label(rules, c, language) for c in types],
            [c or t("digest.unassigned", language) for c in committees],
            [
                t(f"digest.chart_info_{k}", language)
                if k not in INFO_LEVELS
                else t("digest.chart_reported", language, level=level_label(k, language))
                for k in info_keys
            ],
            [
                t(key, language, week=str(digest.week))
                for key in (
                    "digest.chart_title",
                    "digest.chart_types",
                    "digest.chart_committees",
                    "digest.chart_info",
                    "digest.chart_this_week",
                    "digest.chart_last_week",
                    "digest.none",
                )
            ],
        )

    lang, font = chart_language(lang, [s for group in labels_in(lang) for s in group])
    type_labels, committee_labels, info_labels, _ = labels_in(lang)
    if font is None or not all(covers(font, s) for s in committee_labels):
        # Committee names are free text: shown only where the font has their glyphs.
        committee_labels = [s if s.isascii() else f"#{i + 1}" for i, s in enumerate(committee_labels)]

    families = [font.family, "DejaVu Sans"] if font is not None else ["DejaVu Sans"]
    with matplotlib.rc_context({"font.family": families, "axes.unicode_minus": False}):
        rows = max(len(types), 1) + max(len(committees), 1) + len(info_keys)
        fig = Figure(figsize=(8, 2 + rows * 0.32), dpi=110, layout="constrained")
        FigureCanvasAgg(fig)
        heights = [max(len(types), 1) + 1, max(len(committees), 1) + 1, len(info_keys) + 1]
        axes = fig.subplots(3, 1, gridspec_kw={"height_ratios": heights})
        fig.suptitle(t("digest.chart_title", lang, week=str(digest.week)), fontsize=13)
        _bars(
            axes[0],
            type_labels,
            [cur.by_type.get(c, Count()).submitted for c in types],
            [prev.by_type.get(c, Count()).submitted for c in types],
            lang,
            t("digest.chart_types", lang),
        )
        _bars(
            axes[1],
            committee_labels,
            [cur.by_committee.get(c, Count()).submitted for c in committees],
            [prev.by_committee.get(c, Count()).submitted for c in committees],
            lang,
            t("digest.chart_committees", lang),
        )

        def info_value(numbers, key: str) -> int:  # type: ignore[no-untyped-def]
            if key in INFO_LEVELS:
                return numbers.info_reported.get(key, 0)
            return getattr(numbers, f"info_{key}")

        _bars(
            axes[2],
            info_labels,
            [info_value(cur, k) for k in info_keys],
            [info_value(prev, k) for k in info_keys],
            lang,
            t("digest.chart_info", lang),
        )
        fig.canvas.draw()  # lay out now, inside the font context
    return fig


def render_png(digest: Digest, lang: str, rules: Rules) -> bytes:
    fig = build_figure(digest, lang, rules)
    buffer = io.BytesIO()
    families = [f for f in (find_cjk_font(),) if f is not None]
    with matplotlib.rc_context(
        {"font.family": [families[0].family, "DejaVu Sans"] if families else ["DejaVu Sans"]}
    ):
        fig.savefig(buffer, format="png")
    return buffer.getvalue()


def figure_texts(fig: Figure) -> list[tuple[str, str]]:
    """(text, font file) of every visible text in the figure, for checks."""
    out = []
    for text in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_fontproperties")):
        value = text.get_text()
        if value and text.get_visible():
            out.append((value, str(font_manager.findfont(text.get_fontproperties()))))
    return out
