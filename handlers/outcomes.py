"""/outcome: after an event, the secretariat records what it produced for the annual report —
named quantities (建议 N 条, 走访 N 户 …, from the rules file), the leaders invited, output
documents (协商报告, 调研报告) and the 批示 one received. /outcome lists the events held lately
(or /outcome 12 opens event 12); the event's card shows what is recorded, with a button for each
thing to add. The role is checked on every step; a refused answer asks the same step again."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.core.dates import format_moment, today_in
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.services import outcomes as service
from bot.telegram.ui import (
    ROW_IDS,
    App,
    Buttons,
    Context,
    Prompt,
    close_pressed,
    grid,
    keyboard,
    read_code,
    reply,
    rows_of,
)
from handlers.common import PRIVATE, TYPED, lang_of, staff_only, typed_text
from handlers.dialog import END, Next, PromptFor, ask, asking, draft, leaving, new_draft, timed_dialog
from models import Member

PICK, CARD, AMOUNT, GUESTS, DOC_KIND, DOC_TITLE, INSTRUCTION = (
    "pick", "card", "amount", "guests", "doc_kind", "doc_title", "instruction")  # fmt: skip
KEY = "outcome"
CLEAR_GUESTS = ("无", "none", "-")

BUTTONS = Buttons("oc")
EVENT = BUTTONS("e", numbers=ROW_IDS)
QUANTITY = BUTTONS("q", word=True)  # a [[quantity]] code of the rules
DOCUMENT, GUESTS_BUTTON, DONE = BUTTONS("doc"), BUTTONS("g"), BUTTONS("done")
INSTRUCTION_BUTTON = BUTTONS("i", numbers=ROW_IDS)  # a document's id
DOC_KIND_BUTTON = BUTTONS("k", word=True)  # a [[document]] code of the rules


# --------------------------------------------------------------------------- what each step asks


async def _pick_prompt(update: Update, context: Context, lang: str) -> Prompt:
    d = context.deps
    async with d.db.session() as session:
        found = await service.recent_events(session, now=d.clock.now())
    today = today_in(d.clock.now(), d.settings.tz)
    buttons = [
        (f"{format_moment(e.starts_at, d.settings.tz, lang, today)} {e.title}"[:60], EVENT(e.id or 0))
        for e in found
    ]
    if not buttons:
        return t("outcomes.chat.none_held", lang), None
    return t("outcomes.chat.ask_event", lang), grid(buttons, 1)


async def _card_prompt(update: Update, context: Context, lang: str) -> Prompt:
    d = context.deps
    review = d.rules.review
    async with d.db.session() as session:
        recorded = await service.event_outcomes(session, int(draft(context, KEY)["event"]))
    lines = service.describe_outcomes(recorded, review, lang) or [t("outcomes.cli.nothing_yet", lang)]
    head = t("outcomes.cli.event_head", lang, id=recorded.event.id, title=recorded.event.title)
    quantities = [(q.button(lang), QUANTITY(code)) for code, q in review.quantities.items()]
    rows = rows_of(quantities, 3)
    rows.append(
        [
            (t("outcomes.chat.btn_document", lang), DOCUMENT()),
            (t("outcomes.chat.btn_guests", lang), GUESTS_BUTTON()),
        ]
    )
    for doc in recorded.documents:
        if not doc.instruction_by and doc.id is not None:
            rows.append(
                [(t("outcomes.chat.btn_instruction", lang, title=doc.title[:12]), INSTRUCTION_BUTTON(doc.id))]
            )
    rows.append([(t("outcomes.chat.btn_done", lang), DONE())])
    return "\n".join([head, *lines, "", t("outcomes.chat.ask_what", lang)]), keyboard(rows)


async def _amount_prompt(update: Update, context: Context, lang: str) -> Prompt:
    quantity = context.deps.rules.review.quantities[draft(context, KEY)["quantity"]]
    return t("outcomes.chat.ask_amount", lang, label=quantity.label(lang), unit=quantity.unit(lang)), None


async def _guests_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return t("outcomes.chat.ask_guests", lang), None


async def _doc_kind_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kinds = [
        (k.button(lang), DOC_KIND_BUTTON(code)) for code, k in context.deps.rules.review.documents.items()
    ]
    return t("outcomes.chat.ask_doc_kind", lang), grid(kinds, 2)


async def _doc_title_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kind = context.deps.rules.review.documents[draft(context, KEY)["doc_kind"]]
    return t("outcomes.chat.ask_doc_title", lang, kind=kind.label(lang), limit=service.MAX_DOC_TITLE), None


async def _instruction_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return t("outcomes.chat.ask_instruction", lang), None


PROMPTS: dict[object, PromptFor] = {
    PICK: _pick_prompt,
    CARD: _card_prompt,
    AMOUNT: _amount_prompt,
    GUESTS: _guests_prompt,
    DOC_KIND: _doc_kind_prompt,
    DOC_TITLE: _doc_title_prompt,
    INSTRUCTION: _instruction_prompt,
}


async def _card(update: Update, context: Context, lang: str) -> Next:
    """The event's card again, after a change (the pressed card's buttons go)."""
    await close_pressed(update)
    return await ask(update, context, CARD, lang)


# --------------------------------------------------------------------------- the steps


@staff_only
async def start(update: Update, context: Context, member: Member) -> Next:
    """/outcome [event number]: the events held lately, or that event's card."""
    lang = lang_of(member, context)
    new_draft(context, KEY)
    wanted = (context.args[0] if context.args else "").lstrip("#")
    if wanted:
        if not (wanted.isascii() and wanted.isdigit()) or int(wanted) not in ROW_IDS:
            raise service.OutcomeError("no_event", id=wanted[:12])
        return await _open(update, context, int(wanted), lang)
    text, markup = await _pick_prompt(update, context, lang)
    await reply(update, text, markup)
    return PICK if markup is not None else END


async def _open(update: Update, context: Context, event_id: int, lang: str) -> Next:
    async with context.deps.db.session() as session:
        event = await service.open_event(session, event_id)  # refuses an unknown or cancelled event
    draft(context, KEY)["event"] = event.id
    return await ask(update, context, CARD, lang)


@staff_only
async def picked(update: Update, context: Context, member: Member) -> Next:
    event_id = EVENT.read(update).number
    await close_pressed(update)
    return await _open(update, context, event_id, lang_of(member, context))


@staff_only
async def chose_quantity(update: Update, context: Context, member: Member) -> Next:
    code = QUANTITY.read(update).word
    if code not in context.deps.rules.review.quantities or "event" not in draft(context, KEY):
        raise AskAgain("common.stale_button")
    draft(context, KEY)["quantity"] = code
    return await ask(update, context, AMOUNT, lang_of(member, context))


chose_guests, chose_document = asking(GUESTS, staff_only), asking(DOC_KIND, staff_only)
done = leaving(KEY, "outcomes.chat.done", staff_only)  # 完成: what is recorded stays recorded
cancel_command = leaving(KEY, "outcomes.chat.done")


@staff_only
async def chose_instruction(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["doc"] = INSTRUCTION_BUTTON.read(update).number
    return await ask(update, context, INSTRUCTION, lang_of(member, context))


@staff_only
async def got_amount(update: Update, context: Context, member: Member) -> Next:
    d, data = context.deps, draft(context, KEY)
    amount = service.parse_amount(typed_text(update))
    async with d.db.session() as session:
        await service.set_quantity(session, code=data["quantity"], amount=amount, rules=d.rules, now=d.clock.now(),
                                   event_id=int(data["event"]), actor_id=member.id)  # fmt: skip
    return await _card(update, context, lang_of(member, context))


@staff_only
async def got_guests(update: Update, context: Context, member: Member) -> Next:
    text = typed_text(update)
    names = [] if text.casefold() in CLEAR_GUESTS else service.split_names(text)
    async with context.deps.db.session() as session:
        event = await service.open_event(session, int(draft(context, KEY)["event"]))
        await service.set_guests(session, event, names)
    return await _card(update, context, lang_of(member, context))


@staff_only
async def got_doc_kind(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["doc_kind"] = read_code(update, DOC_KIND_BUTTON, context.deps.rules.review.documents)
    return await ask(update, context, DOC_TITLE, lang_of(member, context))


@staff_only
async def got_doc_title(update: Update, context: Context, member: Member) -> Next:
    d, data = context.deps, draft(context, KEY)
    async with d.db.session() as session:
        await service.add_document(session, kind=data["doc_kind"], title=typed_text(update), rules=d.rules,
                                   now=d.clock.now(), zone=d.settings.tz, event_id=int(data["event"]),
                                   actor_id=member.id)  # fmt: skip
    return await _card(update, context, lang_of(member, context))


@staff_only
async def got_instruction(update: Update, context: Context, member: Member) -> Next:
    d, data = context.deps, draft(context, KEY)
    async with d.db.session() as session:
        await service.record_instruction(session, document_id=int(data["doc"]), by=typed_text(update),
                                         on_date=today_in(d.clock.now(), d.settings.tz), actor_id=member.id)  # fmt: skip
    return await _card(update, context, lang_of(member, context))


def register(app: App) -> None:
    app.add_handler(
        timed_dialog(
            app,
            "outcome",
            prompts=PROMPTS,
            buttons=BUTTONS,
            data_key=KEY,
            entry_points=[CommandHandler("outcome", start, filters=PRIVATE)],
            states={
                PICK: [CallbackQueryHandler(picked, pattern=EVENT.matches)],
                CARD: [
                    CallbackQueryHandler(chose_quantity, pattern=QUANTITY.matches),
                    CallbackQueryHandler(chose_guests, pattern=GUESTS_BUTTON.matches),
                    CallbackQueryHandler(chose_document, pattern=DOCUMENT.matches),
                    CallbackQueryHandler(chose_instruction, pattern=INSTRUCTION_BUTTON.matches),
                    CallbackQueryHandler(done, pattern=DONE.matches),
                ],
                AMOUNT: [MessageHandler(TYPED, got_amount)],
                GUESTS: [MessageHandler(TYPED, got_guests)],
                DOC_KIND: [CallbackQueryHandler(got_doc_kind, pattern=DOC_KIND_BUTTON.matches)],
                DOC_TITLE: [MessageHandler(TYPED, got_doc_title)],
                INSTRUCTION: [MessageHandler(TYPED, got_instruction)],
            },
            fallbacks=[CommandHandler("cancel", cancel_command)],
        )
    )
