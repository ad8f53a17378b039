"""The report dialog's evidence: photos and image files (an album arrives one by one and shares one
counter message), each checked by its content; a picture sent before its step is kept for it."""

from __future__ import annotations

from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import filters

from bot.core.i18n import all_texts, t
from bot.core.refusals import AskAgain
from bot.services.activities import MAX_PHOTOS, Evidence
from bot.telegram.ui import Context, close_pressed, reply
from handlers import uploads
from handlers.common import PRIVATE, lang_of, member_only, typed_text
from handlers.dialog import Next, ask
from handlers.report.states import PHOTOS, draft_of, next_missing, photos_buttons, show_summary
from models import Member

DONE_WORDS = {w.casefold() for w in all_texts("report.word_done") + all_texts("report.word_skip")}
EVIDENCE = PRIVATE & (filters.PHOTO | filters.Document.IMAGE)
OTHER_FILES = (
    PRIVATE & (filters.ATTACHMENT | filters.Sticker.ALL | filters.LOCATION | filters.CONTACT) & ~EVIDENCE
)


def _evidence_of(message: Message) -> Evidence | None:
    if message.photo:
        biggest = message.photo[-1]
        return Evidence("photo", biggest.file_id, biggest.file_unique_id)
    doc = message.document
    if doc is not None and (doc.mime_type or "").startswith("image/"):
        return Evidence("document", doc.file_id, doc.file_unique_id)
    return None


async def _picture_refusal(context: Context, message: Message, lang: str) -> str | None:
    """Why the picture is not taken (it does not decode), or None."""
    sent = message.photo[-1] if message.photo else message.document
    assert sent is not None
    return await uploads.refusal(context, sent.file_id, sent.file_size, uploads.IMAGE, lang)


def _add_evidence(draft: dict[str, Any], evidence: Evidence) -> str:
    """ "added", "duplicate" or "full"."""
    photos = draft.setdefault("photos", [])
    if any(p.get("file_unique_id") == evidence.file_unique_id for p in photos if evidence.file_unique_id):
        return "duplicate"
    if len(photos) >= MAX_PHOTOS:
        return "full"
    photos.append(evidence.as_dict())
    return "added"


@member_only
async def early_photo(update: Update, context: Context, member: Member) -> Next:
    """A photo sent before its step: kept for the evidence step (not lost), then the current question
    again."""
    lang = lang_of(member, context)
    draft = draft_of(context)
    message = update.effective_message
    assert message is not None
    evidence = _evidence_of(message)
    refusal = await _picture_refusal(context, message, lang) if evidence is not None else None
    if refusal is not None:
        await reply(update, refusal)
        return await next_missing(update, context, lang)
    if evidence is not None:
        _add_evidence(draft, evidence)
    await reply(update, t("report.photo_kept_early", lang, count=len(draft.get("photos") or [])))
    return await next_missing(update, context, lang)


@member_only
async def add_photo(update: Update, context: Context, member: Member) -> Next:
    """One photo or image document; album parts arrive one by one and share one counter message."""
    lang = lang_of(member, context)
    draft = draft_of(context)
    message = update.effective_message
    assert message is not None
    evidence = _evidence_of(message)
    if evidence is None:
        raise AskAgain("report.wrong_file")
    refusal = await _picture_refusal(context, message, lang)
    if refusal is not None:
        await reply(update, refusal, photos_buttons(lang, len(draft.get("photos") or [])))
        return PHOTOS
    outcome = _add_evidence(draft, evidence)
    count = len(draft["photos"])
    group = message.media_group_id
    if outcome == "full":
        if not group or draft.get("full_group") != group:  # one notice per album, not one per photo
            draft["full_group"] = group
            await reply(update, t("report.photos_full", lang, max=MAX_PHOTOS), photos_buttons(lang, count))
        return PHOTOS
    if outcome == "duplicate":
        await reply(update, t("report.photo_duplicate", lang, count=count), photos_buttons(lang, count))
        return PHOTOS
    text = t("report.photo_received", lang, count=count, max=MAX_PHOTOS)
    album = draft.get("album") or {}
    if group and album.get("group") == group and album.get("message_id"):
        try:
            await context.bot.edit_message_text(
                text,
                chat_id=message.chat_id,
                message_id=album["message_id"],
                reply_markup=photos_buttons(lang, count),
            )
            return PHOTOS
        except BadRequest:
            pass  # the counter message is gone: send a new one
    sent = await reply(update, text, photos_buttons(lang, count))
    draft["album"] = {"group": group, "message_id": sent.message_id if sent else None} if group else {}
    return PHOTOS


@member_only
async def wrong_file(update: Update, context: Context, member: Member) -> Next:
    """A file that is not a picture: refused, and the photo step asked again with its own buttons."""
    raise AskAgain("report.wrong_file")


async def _done(update: Update, context: Context, member: Member) -> Next:
    draft = draft_of(context)
    draft["photos_done"] = True
    draft.pop("album", None)
    draft.pop("full_group", None)
    return await show_summary(update, context, lang_of(member, context))


@member_only
async def photos_done(update: Update, context: Context, member: Member) -> Next:
    await close_pressed(update)
    return await _done(update, context, member)


@member_only
async def photos_clear(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    await close_pressed(update)
    draft = draft_of(context)
    draft["photos"] = []
    draft.pop("album", None)
    await reply(update, t("report.photos_cleared", lang))
    return await ask(update, context, PHOTOS, lang)


@member_only
async def photos_hint(update: Update, context: Context, member: Member) -> Next:
    """Text at the photo step: 完成 / 跳过 typed instead of pressed, or the step again."""
    if typed_text(update).casefold() in DONE_WORDS:
        return await _done(update, context, member)
    raise AskAgain("common.step_again")
