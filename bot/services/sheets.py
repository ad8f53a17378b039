"""Writing cells for the secretariat's spreadsheets: the one helper every workbook and CSV uses.

- Text is always written as text: a name or a report that starts with `=` is never a formula
  (openpyxl would otherwise store `=HYPERLINK(…)` as a live formula). Control characters Excel
  rejects are dropped.
- Dates and times are real date cells (sortable, filterable), in the committee's zone.
- Every sheet has a bold, frozen header row, an autofilter over its rows and a width for every
  column; sheets are write-only, so a province's rows stream to disk.
- CSV cells starting with `= + - @`, tab or carriage return are escaped with a leading `'`
  (the OWASP advice against CSV injection), because a CSV has no cell types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from bot.core.clock import local

# Excel rejects control characters other than tab and newlines in cell text.
_CONTROL = dict.fromkeys(i for i in range(32) if i not in (9, 10, 13))
CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "yyyy-mm-dd"
TIME_FORMAT = "yyyy-mm-dd hh:mm"
MAX_TEXT = 32767  # Excel's limit for one cell


class When:
    """A stored UTC moment to be written as a local date-time cell."""

    __slots__ = ("moment", "zone")

    def __init__(self, moment: datetime | None, zone: tzinfo) -> None:
        self.moment, self.zone = moment, zone


class Column:
    """A column of a sheet: its key in a row, header, width (characters), whether long text wraps,
    and whether it is left out of a workbook in which no row has a value for it (`optional`)."""

    __slots__ = ("key", "header", "width", "wrap", "optional")

    def __init__(self, key: str, header: str, width: float, *, wrap: bool = False, optional: bool = False) -> None:
        self.key, self.header, self.width, self.wrap, self.optional = key, header, width, wrap, optional


def filled(value: Any) -> bool:
    return value not in (None, "") and not (isinstance(value, When) and value.moment is None)


def without_empty(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> list[Column]:
    """The columns, less the optional ones no row has a value for (no always-empty columns)."""
    seen = {key for row in rows for key, value in row.items() if filled(value)}
    return [c for c in columns if not c.optional or c.key in seen]


def clean_text(value: str) -> str:
    return value.translate(_CONTROL)[:MAX_TEXT]


class Sheet:
    """A write-only sheet: header row (bold, frozen), widths for every column, autofilter."""

    def __init__(self, book: Workbook, title: str, columns: Sequence[Column]) -> None:
        self.ws = book.create_sheet(title[:31])
        self.columns = list(columns)
        self.ws.freeze_panes = "A2"
        for index, column in enumerate(self.columns, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = column.width
        self._wrap = Alignment(wrap_text=True, vertical="top")
        bold = Font(bold=True)
        header = []
        for column in self.columns:
            cell = self.cell(column.header)
            cell.font = bold
            header.append(cell)
        self.ws.append(header)
        self.rows = 0
        self._filter()

    def cell(self, value: Any, *, wrap: bool = False) -> Cell:
        """One cell: text as text (never a formula), dates as date cells, numbers as numbers."""
        if isinstance(value, When):
            value = local(value.moment, value.zone).replace(tzinfo=None) if value.moment else None
        cell = WriteOnlyCell(self.ws)
        if isinstance(value, str):
            cell.value = clean_text(value)
            cell.data_type = "s"  # openpyxl would make a formula of text that starts with "="
        elif isinstance(value, bool):
            cell.value = value
        elif isinstance(value, datetime):
            cell.value = value
            cell.number_format = TIME_FORMAT
        elif isinstance(value, date):
            cell.value = value
            cell.number_format = DATE_FORMAT
        else:
            cell.value = value
        if wrap:
            cell.alignment = self._wrap
        return cell

    def append(self, row: Mapping[str, Any]) -> None:
        """One row, by column key (keys of columns left out are ignored)."""
        cells = [self.cell(row.get(c.key), wrap=c.wrap) for c in self.columns]
        self.ws.append(cells)
        self.rows += 1
        self._filter()

    def _filter(self) -> None:
        # Written when the workbook is saved, so it always covers every row appended so far.
        self.ws.auto_filter.ref = f"A1:{get_column_letter(len(self.columns))}{self.rows + 1}"


def csv_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run: `=1+1` becomes `'=1+1`."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_TRIGGERS) else text


def csv_row(values: Iterable[Any]) -> list[str]:
    return [csv_cell(v) for v in values]
