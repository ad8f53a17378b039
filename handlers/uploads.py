"""The one check of an uploaded file's content, used by every dialog that takes files (/info
attachments, /report evidence): download it within the size limit and look at its bytes.

A refusal comes back as the text to send; the dialog sends it and asks for the same step again.
Nothing is stored before the check passed.
"""

from __future__ import annotations

import asyncio
import logging

from telegram.error import TelegramError

from bot.core.i18n import t
from bot.services import uploads
from handlers.common import Context

log = logging.getLogger(__name__)

IMAGE, DOCUMENT = "image", "document"


MAX_MEGABYTES = uploads.MAX_BYTES // 1024 // 1024


async def refusal(context: Context, file_id: str, size: int | None, want: str, lang: str) -> str | None:
    """None when the file is what `want` (IMAGE or DOCUMENT: PDF or Word) says; else the polite
    refusal in `lang`."""
    key = await problem(context, file_id, size, want)
    return t(key, lang, max=MAX_MEGABYTES) if key else None


async def problem(context: Context, file_id: str, size: int | None, want: str) -> str | None:
    """None when the file is what `want` says; else the catalogue key of the refusal (its
    parameter: `max`, MAX_MEGABYTES)."""
    if size is not None and size > uploads.MAX_BYTES:
        return "uploads.too_big"
    try:
        telegram_file = await context.bot.get_file(file_id)
        if (telegram_file.file_size or 0) > uploads.MAX_BYTES:
            return "uploads.too_big"
        data = bytes(await telegram_file.download_as_bytearray())
    except TelegramError as exc:
        log.info("an upload could not be downloaded: %s", type(exc).__name__)
        return "uploads.unavailable"
    if want == IMAGE:
        ok = await asyncio.to_thread(uploads.image_decodes, data)  # decoding a big image takes a while
        return None if ok else "uploads.broken_image"
    return None if uploads.document_format(data) else "uploads.not_a_document"
