"""/inbox: the secretariat's queue of 社情民意信息 by workflow step (newest first), or the items a
search finds (/inbox SQ-2026-0042, /inbox 电梯), a card per item with a button for each legal move."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.core.dates import today_in
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.core.rules import INFO_LEVELS
from bot.services import info
from bot.telegram.ui import OFFSETS, ROW_IDS, Buttons, Context, grid, keyboard, reply
from handlers.common import lang_of, staff_only
from handlers.dialog import END, Next, drop_draft
from models import Member

KEY = "inbox"  # the move under way
SEARCH_KEY = "inbox_search"  # what /inbox was last asked to find, for its next page
PAGE = 5

BUTTONS = Buttons("ib")
QUEUE = BUTTONS("q", words=info.INBOX_VIEWS, numbers=OFFSETS)  # a view of the queue from an offset
FOUND = BUTTONS("s", numbers=OFFSETS)  # the items found by the last search, from an offset
MOVE = BUTTONS("m", words=info.STAFF_MOVES, numbers=ROW_IDS)  # a move on an item


def move_buttons(view: info.ItemView, lang: str) -> InlineKeyboardMarkup | None:
    moves = info.legal_moves(view.item.state)
    if "report" in moves and set(INFO_LEVELS) <= view.reported_levels:
        moves.remove("report")
    assert view.item.id is not None
    labels = [(t(f"inbox.btn_{move}", lang), MOVE(move, view.item.id)) for move in moves]
    return grid(labels, 3) if labels else None


async def card(update: Update, context: Context, view: info.ItemView, lang: str) -> None:
    d = context.deps
    today = today_in(d.clock.now(), d.settings.tz)
    text = info.render_card(view, lang, d.settings.tz, staff=True, full_body=True, today=today)
    await reply(update, text, move_buttons(view, lang))


# --------------------------------------------------------------------------- the queue


@staff_only
async def inbox(update: Update, context: Context, member: Member) -> Next:
    """/inbox: the items waiting for the secretariat, newest first, with a filter per workflow
    step; /inbox SQ-2026-0042 or /inbox 电梯 finds items by number or by a word of the title."""
    assert context.user_data is not None
    lang = lang_of(member, context)
    view, offset, search = "pending", 0, None
    if QUEUE.pressed(update):
        press = QUEUE.read(update)
        view, offset = press.word, press.number
    elif FOUND.pressed(update):
        search, offset = context.user_data.get(SEARCH_KEY), FOUND.read(update).number
        if not search:
            raise AskAgain("common.stale_button")  # nothing was searched for (or it was forgotten)
    elif context.args:
        wanted = " ".join(context.args)
        if wanted in info.INBOX_VIEWS:
            view = wanted
        else:
            search = context.user_data[SEARCH_KEY] = wanted[:40]
    drop_draft(context, KEY)  # /inbox leaves a move half-way
    async with context.deps.db.session() as session:
        counts = await info.view_counts(session)
        if search is not None:
            views, total = await info.find_items(session, search, offset=offset, limit=PAGE)
        else:
            views, total = await info.queue(session, view, offset=offset, limit=PAGE)
    filters_row = [(f"{t(f'inbox.view.{v}', lang)} {counts[v]}", QUEUE(v, 0)) for v in info.INBOX_VIEWS]
    span = {"total": total, "first": min(offset + 1, total), "last": offset + len(views)}
    if search is not None:
        head = (
            t("inbox.found", lang, text=search, **span) if total else t("inbox.found_none", lang, text=search)
        )
    else:
        head = t("inbox.header", lang, view=t(f"inbox.view.{view}", lang), **span)
    await reply(update, head + "\n" + t("inbox.how_to_find", lang), grid(filters_row, 2))
    if not views:
        if search is None:
            await reply(update, t("inbox.empty", lang))
        return END
    for item_view in views:
        await card(update, context, item_view, lang)
    if offset + PAGE < total:
        more = FOUND(offset + PAGE) if search is not None else QUEUE(view, offset + PAGE)
        await reply(
            update,
            t("inbox.more", lang, left=total - offset - PAGE),
            keyboard([[(t("inbox.btn_more", lang), more)]]),
        )
    return END
