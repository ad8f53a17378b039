"""The /info dialog as a paper (handlers.paper): its spec and what is its own, the returned item
loaded for revising, the summary card with the advice on the body, and submitting."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update

from bot.core.i18n import t
from bot.core.rules import Rules
from bot.services import info
from bot.telegram.ui import Buttons, Context, refuse, reply
from handlers.common import lang_of
from handlers.paper import CATEGORY, TITLE, Draft, Paper, People, Revision, Texts, Title, stored_file
from models import Member

log = logging.getLogger(__name__)

KEY = "info"
BODY, COAUTHORS = "body", "coauthors"
BUTTONS = Buttons("info")


def _category(text: str, rules: Rules) -> str:
    if text not in rules.info.categories:
        raise info.InfoError("category")
    return text


async def _returned(update: Update, context: Context, member: Member, item_id: int) -> Revision:
    """The returned item behind the button under it in /myinfo, if it is the member's."""
    lang = lang_of(member, context)
    async with context.deps.db.session() as session:
        view = await info.item_view(session, item_id)
    if view is None or member.id not in [m.id for m in view.authors]:
        await refuse(update, t("info.err.not_yours", lang))
        return None
    if view.item.state != "returned":
        await refuse(update, t("info.err.illegal_resubmit", lang, number=view.item.number))
        return None
    item = view.item
    fields = {
        "title": item.title,
        "category": item.category,
        "body": item.body,
        "attachments": [stored_file(a, caption=True) for a in view.attachments],
        "coauthors": [[m.id, m.name] for m in view.authors if m.id != item.author_id],
    }
    reason = next((e.text for e in reversed(view.events) if e.kind == "returned"), "") or ""
    return fields, t("info.revise_intro", lang, number=item.number, reason=reason)


async def _card(update: Update, context: Context, draft: Draft, lang: str) -> None:
    """The item as it will be submitted, and advice if any."""
    body = draft["body"]
    text = t("info.summary", lang, title=draft["title"], category=draft["category"], length=len(body),
             files=len(draft["attachments"]), coauthors=PAPER.names(draft, lang))  # fmt: skip
    notes = [t(key, lang, advised=info.ADVISED_MAX) for key in info.advice(draft["title"], body)]
    await reply(update, text + "\n\n" + body)
    if notes:
        await reply(update, t("info.advice_header", lang) + "\n" + "\n".join("· " + n for n in notes))


async def _submit(update: Update, context: Context, member: Member, draft: Draft, lang: str) -> str:
    assert member.id is not None
    d = context.deps
    shared: dict[str, Any] = {
        "title": draft["title"],
        "category": draft["category"],
        "body": draft["body"],
        "now": d.clock.now(),
        "rules": d.rules,
        "attachments": [info.AttachmentIn.from_dict(a) for a in draft["attachments"]],
        "coauthor_ids": [cid for cid, _ in draft["coauthors"]],
        "default_lang": d.settings.locale,
        "staff_chat_id": d.settings.secretariat_chat_id,
    }
    try:
        async with d.db.session() as session:
            if draft.get("resubmit"):
                item = await info.resubmit(session, item_id=int(draft["resubmit"]), actor=member, **shared)
            else:
                item = await info.submit(session, author_id=member.id, tz=d.settings.tz,
                                         draft_key=PAPER.draft_key(update, draft), **shared)  # fmt: skip
            number = item.number
    except info.AlreadySubmitted as exc:
        number = exc.number
    log.info("member %s submitted info %s", member.id, number)
    return t("info.resubmitted" if draft.get("resubmit") else "info.submitted", lang, number=number)


PAPER = Paper(
    name="info",
    key=KEY,
    cat="info",
    buttons=BUTTONS,
    texts=Texts((BODY,), BUTTONS("body:done"), BUTTONS("body:clear"), "body", info.BODY_MIN, info.BODY_MAX,
                check=lambda body, _others: info.check_body(body), extra={"advised": info.ADVISED_MAX},
                files_too=True),
    people=People(COAUTHORS, "coauthor", info.MAX_COAUTHORS, may_join=lambda other: bool(other.active)),
    title=Title(info.TITLE_MIN, info.TITLE_MAX, info.check_title),
    categories=lambda rules: rules.info.categories, check_category=_category, category_columns=3,
    max_files=info.MAX_ATTACHMENTS, captions=True,
    fields={"title": TITLE, "body": BODY, "category": CATEGORY},
    draft_prefix="", stored_draft=info.number_of_draft,
    load_returned=_returned, card=_card, submit=_submit,
)  # fmt: skip
