"""/newevent: a guided chat for the secretariat — title, kind, start, end, place, audience,
reminders — then publish or keep as a draft."""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram import Update

from bot.core.dates import format_span, short_day
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.services import events as service
from bot.services import outcomes
from bot.services.reminders import DEFAULT_OFFSETS, OffsetError, parse_offsets
from bot.telegram.ui import OFFSETS, Buttons, Context, Prompt, close_pressed, grid, keyboard, read_code, reply
from handlers import days
from handlers.common import lang_of, staff_only, typed_text, typed_within
from handlers.dialog import END, Next, PromptFor, ask, draft, drop_draft, leaving, new_draft, numbered
from handlers.event_admin import tags
from handlers.events import policy
from models import Member

TITLE, KIND, START, FINISH, PLACE = "title", "kind", "start", "end", "place"
AUDIENCE, AUDIENCE_VALUE, REMIND, CONFIRM = "audience", "audience_value", "remind", "confirm"
KEY = "event_admin"
STEPS = {TITLE: 1, KIND: 2, START: 3, FINISH: 4, PLACE: 5, AUDIENCE: 6, AUDIENCE_VALUE: 6, REMIND: 7}
MAX_CHOICES = 24  # committee or sector buttons shown at once

BUTTONS = Buttons("ne")
KIND_BUTTON = BUTTONS("k", word=True)  # an activity code of the rules
SKIP = BUTTONS("skip")
AUDIENCE_BUTTON = BUTTONS("a", words=service.AUDIENCE_KINDS)
CHOICE = BUTTONS("av", numbers=OFFSETS)  # a committee or sector, by its place in the list shown
PUBLISH, DRAFT, TOGGLE_CHECKIN, CANCEL = BUTTONS("pub"), BUTTONS("draft"), BUTTONS("self"), BUTTONS("cancel")


# ------------------------------------------------------------------ what each step asks


async def _title_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return numbered(STEPS, TITLE, "events.admin.ask_title", lang, limit=service.MAX_TITLE), None


async def _kind_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kinds = [(a.button(lang), KIND_BUTTON(a.code)) for a in context.deps.rules.activities.values()]
    return numbered(STEPS, KIND, "events.admin.ask_kind", lang), grid(kinds, 2)


async def _start_prompt(update: Update, context: Context, lang: str) -> Prompt:
    # an example start a week from now, so the example always lies ahead
    example = t(
        "events.admin.example_start", lang, day=short_day(days.today(context) + timedelta(days=7), lang)
    )
    return numbered(STEPS, START, "events.admin.ask_start", lang, example=example), None


async def _end_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return numbered(STEPS, FINISH, "events.admin.ask_end", lang), keyboard(
        [[(t("events.admin.skip", lang), SKIP())]]
    )


async def _place_prompt(update: Update, context: Context, lang: str) -> Prompt:
    text = numbered(STEPS, PLACE, "events.admin.ask_place", lang, limit=service.MAX_PLACE)
    return text, keyboard([[(t("events.admin.skip", lang), SKIP())]])


async def _audience_prompt(update: Update, context: Context, lang: str) -> Prompt:
    kinds = [(t(f"events.admin.audience_{k}", lang), AUDIENCE_BUTTON(k)) for k in service.AUDIENCE_KINDS]
    return numbered(STEPS, AUDIENCE, "events.admin.ask_audience", lang), grid(kinds, 2)


async def _audience_value_prompt(update: Update, context: Context, lang: str) -> Prompt:
    data = draft(context, KEY)
    kind = data.get("audience_kind", "members")
    if kind == "members":
        return numbered(STEPS, AUDIENCE_VALUE, "events.admin.ask_audience_members", lang), None
    choices = data.get("choices")
    if choices is None:  # every committee (or sector), with its size
        async with context.deps.db.session() as session:
            found = await service.audience_choices(session, kind)
        choices = data["choices"] = [name for name, _count in found][:MAX_CHOICES]
        labels = {name: t("events.admin.choice", lang, name=name, count=count) for name, count in found}
    else:
        labels = {name: name for name in choices}
    buttons = [(labels[name], CHOICE(i)) for i, name in enumerate(choices)]
    return numbered(STEPS, AUDIENCE_VALUE, f"events.admin.ask_audience_{kind}", lang), grid(buttons, 1)


async def _remind_prompt(update: Update, context: Context, lang: str) -> Prompt:
    text = numbered(
        STEPS,
        REMIND,
        "events.admin.ask_remind",
        lang,
        default=service.describe_offsets(DEFAULT_OFFSETS, lang),
    )
    return text, keyboard([[(t("events.admin.default_remind", lang), SKIP())]])


async def _confirm_prompt(update: Update, context: Context, lang: str) -> Prompt:
    d = context.deps
    data = draft(context, KEY)
    start = datetime.fromisoformat(data["start"])
    end = datetime.fromisoformat(data["end"]) if data.get("end") else start + service.DEFAULT_LENGTH
    async with d.db.session() as session:
        audience = await service.resolve_audience(session, data.get("audience", "all"))
        who = await service.describe_audience(session, audience, lang)
    summary = t(
        "events.admin.summary",
        lang,
        title=data["title"],
        kind=d.rules.activities[data["kind"]].label(lang),
        when=format_span(start, end, d.settings.tz, lang, days.today(context)),
        place=data.get("place") or t("events.place_tbd", lang),
        audience=who,
        remind=service.describe_offsets(data.get("remind") or DEFAULT_OFFSETS, lang),
        checkin=t(
            "events.admin.checkin_self" if data.get("self_declared") else "events.admin.checkin_code", lang
        ),
    ) + tags.card_lines(data, d.rules.review, lang)
    toggle = "events.admin.btn_to_code" if data.get("self_declared") else "events.admin.btn_to_self"
    return summary, keyboard(
        [
            [(t("events.admin.publish", lang), PUBLISH()), (t("events.admin.draft", lang), DRAFT())],
            tags.card_row(lang),  # tags and organiser, for the annual report
            [(t(toggle, lang), TOGGLE_CHECKIN()), (t("events.admin.cancel", lang), CANCEL())],
        ]
    )


PROMPTS: dict[object, PromptFor] = {
    TITLE: _title_prompt,
    KIND: _kind_prompt,
    START: _start_prompt,
    FINISH: _end_prompt,
    PLACE: _place_prompt,
    AUDIENCE: _audience_prompt,
    AUDIENCE_VALUE: _audience_value_prompt,
    REMIND: _remind_prompt,
    CONFIRM: _confirm_prompt,
}


# ------------------------------------------------------------------ the steps


@staff_only
async def new_event(update: Update, context: Context, member: Member) -> Next:
    """/newevent: start the guided chat."""
    # the event is made once, however often 发布 is pressed (bot.services.events)
    new_draft(context, KEY, once=True)
    return await ask(update, context, TITLE, lang_of(member, context))


@staff_only
async def got_title(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["title"] = typed_within(update, service.MAX_TITLE, "events.admin.bad_title")
    return await ask(update, context, KIND, lang_of(member, context))


@staff_only
async def got_kind(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["kind"] = read_code(update, KIND_BUTTON, context.deps.rules.activities)
    return await ask(update, context, START, lang_of(member, context))


@staff_only
async def got_start(update: Update, context: Context, member: Member) -> Next:
    d = context.deps
    now = d.clock.now()
    start = service.parse_local_datetime(typed_text(update), d.settings.tz, now=now)
    if start <= now:
        raise service.EventError("in_past")
    data = draft(context, KEY)
    data["start"] = start.isoformat()
    data.pop("end", None)  # an end kept from an earlier start may now lie before it
    return await ask(update, context, FINISH, lang_of(member, context))


@staff_only
async def got_end(update: Update, context: Context, member: Member) -> Next:
    d = context.deps
    data = draft(context, KEY)
    if update.callback_query is None:
        start = datetime.fromisoformat(data["start"])
        # a time alone is on the day of the start
        end = service.parse_local_datetime(
            typed_text(update), d.settings.tz, now=d.clock.now(), day=start.astimezone(d.settings.tz).date()
        )
        if end <= start:
            raise AskAgain("events.error.end_before_start")
        data["end"] = end.isoformat()
    else:
        data.pop("end", None)
    return await ask(update, context, PLACE, lang_of(member, context))


@staff_only
async def got_place(update: Update, context: Context, member: Member) -> Next:
    if update.callback_query is None:
        place = typed_within(update, service.MAX_PLACE, "events.admin.bad_place", required=False)
        draft(context, KEY)["place"] = place
    return await ask(update, context, AUDIENCE, lang_of(member, context))


@staff_only
async def got_audience(update: Update, context: Context, member: Member) -> Next:
    kind = AUDIENCE_BUTTON.read(update).word
    data = draft(context, KEY)
    data.pop("choices", None)
    if kind in service.WHOLE_AUDIENCES:  # everyone, or the staff only: nothing more to choose
        data["audience"] = kind
        return await ask(update, context, REMIND, lang_of(member, context))
    data["audience_kind"] = kind
    return await ask(update, context, AUDIENCE_VALUE, lang_of(member, context))


@staff_only
async def got_audience_value(update: Update, context: Context, member: Member) -> Next:
    """A committee or sector button, part of its name typed, or the names of members."""
    d = context.deps
    data = draft(context, KEY)
    kind = data.get("audience_kind", "members")
    shown = list(data.get("choices") or [])
    text = typed_text(update)
    if update.callback_query is not None:
        index = CHOICE.read(update).number
        if index >= len(shown):
            raise AskAgain("common.stale_button")
        value = shown[index]
    elif kind == "members":
        value = text
    else:
        async with d.db.session() as session:
            names = [name for name, _count in await service.audience_choices(session, kind)]
        found = service.matching_choices(names, text)
        if not found:
            raise service.EventError("empty_audience", text=text[:60])
        if len(found) > 1:  # several match: offer just those
            data["choices"] = found[:MAX_CHOICES]
            raise AskAgain("events.admin.several_match", count=len(found), text=text[:20])
        value = found[0]
    spec = f"{kind}:{value}"
    async with d.db.session() as session:
        await service.resolve_audience(session, spec)
    data["audience"] = spec
    data.pop("choices", None)
    return await ask(update, context, REMIND, lang_of(member, context))


@staff_only
async def got_remind(update: Update, context: Context, member: Member) -> Next:
    data = draft(context, KEY)
    if update.callback_query is None:
        try:
            data["remind"] = parse_offsets(typed_text(update))
        except OffsetError:
            raise AskAgain("events.error.bad_offsets", text=typed_text(update)[:40]) from None
    else:
        data.pop("remind", None)
    return await ask(update, context, CONFIRM, lang_of(member, context))


@staff_only
async def toggle_checkin(update: Update, context: Context, member: Member) -> Next:
    """How members check in: the venue's code, or declared by themselves."""
    data = draft(context, KEY)
    data["self_declared"] = not data.get("self_declared")
    await close_pressed(update)  # the card with the other setting is replaced by this one
    return await ask(update, context, CONFIRM, lang_of(member, context))


cancel = leaving(KEY, "events.admin.cancelled", staff_only)  # 取消 under the summary
cancel_command = leaving(KEY, "events.admin.cancelled")  # /cancel at any step: nothing is stored


@staff_only
async def publish(update: Update, context: Context, member: Member) -> Next:
    """发布 (invitations go out) or 存为草稿."""
    d, lang = context.deps, lang_of(member, context)
    published = PUBLISH.pressed(update)
    data = dict(draft(context, KEY))
    if "start" not in data:
        raise AskAgain("common.stale_button")
    now = d.clock.now()
    async with d.db.session() as session:
        audience = await service.resolve_audience(session, data.get("audience", "all"))
        event = await service.create_event(
            session,
            title=data["title"],
            kind=data["kind"],
            starts_at=datetime.fromisoformat(data["start"]),
            ends_at=datetime.fromisoformat(data["end"]) if data.get("end") else None,
            place=data.get("place", ""),
            audience=audience,
            offsets=data.get("remind"),
            now=now,
            rules=d.rules,
            created_by=member.id,
            self_declared=bool(data.get("self_declared")),
            create_key=data.get("key"),
        )
        await outcomes.set_details(session, event, **tags.details(data))
        invited = (
            await service.publish_once(session, event, now=now, policy=policy(context)) if published else 0
        )
    drop_draft(context, KEY)
    await close_pressed(update)
    key = "events.admin.published" if published else "events.admin.saved"
    await reply(update, t(key, lang, id=event.id, title=event.title, count=invited, code=event.checkin_code))
    return END
