"""/outcome: after an event, the secretariat records what it produced for the annual report —
named quantities (建议 N 条, 走访 N 户 …, from the rules file), the leaders invited, output
documents (协商报告, 调研报告) and the 批示 one received. /outcome lists the events held lately
(or /outcome 12 opens event 12); the event's card shows what is recorded, with a button for each
thing to add. The role is checked on every step; a refused answer asks the same step again."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
)

from bot.core.dates import format_moment, today_in
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.services import outcomes as service
from handlers.button_data import button_number
from handlers.common import (
    PRIVATE,
    TYPED,
    Context,
    Prompt,
    PromptFor,
    close_pressed,
    deps,
    dialog,
    grid,
    keyboard,
    lang_of,
    reply,
    staff_only,
)
from models import Member

END = ConversationHandler.END
PICK, CARD, AMOUNT, GUESTS, DOC_KIND, DOC_TITLE, INSTRUCTION = range(60, 67)
KEY = "outcome"
CLEAR_GUESTS = ("无", "none", "-")


def _data(context: Context) -> dict:
    assert context.user_data is not None
    return context.user_data.setdefault(KEY, {})


def _text(update: Update) -> str:
    return (update.message.text or "").strip() if update.message else ""


def _pressed(update: Update) -> str:
    return (update.callback_query.data or "") if update.callback_query else ""


# --------------------------------------------------------------------------- what each step asks


async def _pick_prompt(update: Update, context: Context, lang: str) -> Prompt:
    d = deps(context)
    async with d.db.session() as session:
        found = await service.recent_events(session, now=d.clock.now())
    today = today_in(d.clock.now(), d.settings.tz)
    buttons = [(f"{format_moment(e.starts_at, d.settings.tz, lang, today)} {e.title}"[:60], f"oc:e:{e.id}") for e in found]
    if not buttons:
        return t("outcomes.chat.none_held", lang), None
    return t("outcomes.chat.ask_event", lang), grid(buttons, 1)


async def _card_prompt(update: Update, context: Context, lang: str) -> Prompt:
    d = deps(context)
    review = d.rules.review
    async with d.db.session() as session:
        recorded = await service.event_outcomes(session, int(_data(context)["event"]))
    lines = service.describe_outcomes(recorded, review, lang) or [t("outcomes.cli.nothing_yet", lang)]
    head = t("outcomes.cli.event_head", lang, id=recorded.event.id, title=recorded.event.title)
    quantities = [(q.button(lang), f"oc:q:{code}") for code, q in review.quantities.items()]
    rows = [quantities[i : i + 3] for i in range(0, len(quantities), 3)]
    rows.append([(t("outcomes.chat.btn_document", lang), "oc:doc"), (t("outcomes.chat.btn_guests", lang), "oc:g")])
    for doc in recorded.documents:
        if not doc.instruction_by:
            rows.append([(t("outcomes.chat.btn_instruction", lang, title=doc.title[:12]), f"oc:i:{doc.id}")])
    rows.append([(t("outcomes.chat.btn_done", lang), "oc:done")])
    return "\n".join([head, *lines, "", t("outcomes.chat.ask_what", lang)]), keyboard(rows)


async def _amount_prompt(update: Update, context: Context, lang: str) -> Prompt:
    quantity = deps(context).rules.review.quantities[_data(context)["quantity"]]
    return t("outcomes.chat.ask_amount", lang, label=quantity.label(lang), unit=quantity.unit(lang)), None


async def _guests_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return t("outcomes.chat.ask_guests", lang), None


async def _doc_kind_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kinds = [(k.button(lang), f"oc:k:{code}") for code, k in deps(context).rules.review.documents.items()]
    return t("outcomes.chat.ask_doc_kind", lang), grid(kinds, 2)


async def _doc_title_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kind = deps(context).rules.review.documents[_data(context)["doc_kind"]]
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


async def _next(update: Update, context: Context, state: int, lang: str) -> int:
    text, markup = await PROMPTS[state](update, context, lang)
    await reply(update, text, reply_markup=markup)
    return state


async def _card(update: Update, context: Context, lang: str) -> int:
    """The event's card again, after a change (the pressed card's buttons go)."""
    await close_pressed(update)
    return await _next(update, context, CARD, lang)


# --------------------------------------------------------------------------- the steps


@staff_only
async def start(update: Update, context: Context, member: Member) -> int:
    """/outcome [event number]: the events held lately, or that event's card."""
    assert context.user_data is not None
    lang = lang_of(member, context)
    context.user_data[KEY] = {}
    wanted = context.args[0] if context.args else ""
    if wanted:
        number = wanted.lstrip("#")
        if not number.isdigit() or not 1 <= int(number) <= 2**31 - 1:
            raise service.OutcomeError("no_event", id=wanted[:12])
        return await _open(update, context, int(number), lang)
    state = PICK
    text, markup = await _pick_prompt(update, context, lang)
    await reply(update, text, reply_markup=markup)
    return state if markup is not None else END


async def _open(update: Update, context: Context, event_id: int, lang: str) -> int:
    async with deps(context).db.session() as session:
        event = await service.open_event(session, event_id)  # refuses an unknown or cancelled event
    _data(context)["event"] = event.id
    return await _next(update, context, CARD, lang)


@staff_only
async def picked(update: Update, context: Context, member: Member) -> int:
    event_id = button_number(update)
    if event_id is None:
        raise AskAgain("common.stale_button")
    await close_pressed(update)
    return await _open(update, context, event_id, lang_of(member, context))


@staff_only
async def chose(update: Update, context: Context, member: Member) -> int:
    """A button of the event's card."""
    lang = lang_of(member, context)
    data = _data(context)
    pressed = _pressed(update)
    if "event" not in data:
        raise AskAgain("common.stale_button")
    if pressed == "oc:done":
        await close_pressed(update)
        context.user_data.pop(KEY, None)  # type: ignore[union-attr]
        await reply(update, t("outcomes.chat.done", lang))
        return END
    if pressed.startswith("oc:q:"):
        code = pressed.removeprefix("oc:q:")
        if code not in deps(context).rules.review.quantities:
            raise AskAgain("common.stale_button")
        data["quantity"] = code
        return await _next(update, context, AMOUNT, lang)
    if pressed == "oc:g":
        return await _next(update, context, GUESTS, lang)
    if pressed == "oc:doc":
        return await _next(update, context, DOC_KIND, lang)
    if pressed.startswith("oc:i:") and (doc := button_number(update)) is not None:
        data["doc"] = doc
        return await _next(update, context, INSTRUCTION, lang)
    raise AskAgain("common.stale_button")


@staff_only
async def got_amount(update: Update, context: Context, member: Member) -> int:
    d, data = deps(context), _data(context)
    amount = service.parse_amount(_text(update))
    async with d.db.session() as session:
        await service.set_quantity(session, code=data["quantity"], amount=amount, rules=d.rules, now=d.clock.now(),
                                   event_id=int(data["event"]), actor_id=member.id)  # fmt: skip
    return await _card(update, context, lang_of(member, context))


@staff_only
async def got_guests(update: Update, context: Context, member: Member) -> int:
    text = _text(update)
    names = [] if text.casefold() in CLEAR_GUESTS else service.split_names(text)
    async with deps(context).db.session() as session:
        event = await service.open_event(session, int(_data(context)["event"]))
        await service.set_guests(session, event, names)
    return await _card(update, context, lang_of(member, context))


@staff_only
async def got_doc_kind(update: Update, context: Context, member: Member) -> int:
    code = _pressed(update).removeprefix("oc:k:")
    if code not in deps(context).rules.review.documents:
        raise AskAgain("common.stale_button")
    _data(context)["doc_kind"] = code
    return await _next(update, context, DOC_TITLE, lang_of(member, context))


@staff_only
async def got_doc_title(update: Update, context: Context, member: Member) -> int:
    d, data = deps(context), _data(context)
    async with d.db.session() as session:
        await service.add_document(session, kind=data["doc_kind"], title=_text(update), rules=d.rules, now=d.clock.now(),
                                   zone=d.settings.tz, event_id=int(data["event"]), actor_id=member.id)  # fmt: skip
    return await _card(update, context, lang_of(member, context))


@staff_only
async def got_instruction(update: Update, context: Context, member: Member) -> int:
    d, data = deps(context), _data(context)
    async with d.db.session() as session:
        await service.record_instruction(session, document_id=int(data["doc"]), by=_text(update),
                                         on_date=today_in(d.clock.now(), d.settings.tz), actor_id=member.id)  # fmt: skip
    return await _card(update, context, lang_of(member, context))


async def cancel(update: Update, context: Context) -> int:
    if context.user_data is not None:
        context.user_data.pop(KEY, None)
    await reply(update, t("outcomes.chat.done", lang_of(None, context, update)))
    return END


def register(app: Application) -> None:
    app.add_handler(
        dialog(
            "outcome",
            timeout_minutes=app.bot_data["deps"].settings.dialog_timeout_minutes,
            prompts=PROMPTS,
            buttons="oc:",
            data_key=KEY,
            entry_points=[CommandHandler("outcome", start, filters=PRIVATE)],
            states={
                PICK: [CallbackQueryHandler(picked, pattern=r"^oc:e:")],
                CARD: [CallbackQueryHandler(chose, pattern=r"^oc:(q:|i:|g$|doc$|done$)")],
                AMOUNT: [MessageHandler(TYPED, got_amount)],
                GUESTS: [MessageHandler(TYPED, got_guests)],
                DOC_KIND: [CallbackQueryHandler(got_doc_kind, pattern=r"^oc:k:")],
                DOC_TITLE: [MessageHandler(TYPED, got_doc_title)],
                INSTRUCTION: [MessageHandler(TYPED, got_instruction)],
            },
            fallbacks=[CommandHandler("cancel", cancel)],
        )
    )
