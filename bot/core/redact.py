"""Logs that help diagnose a failure without repeating what members wrote: message bodies and phone
numbers are taken out of exception messages before they are logged.

The code lines and frames of a traceback are the program's own; only exception messages can quote
a member (an error that names the text it could not parse). In those, the texts of the update
(`secrets`: a message's text or caption, a shared contact's number) and any of their words, runs of
Chinese text (members write Chinese; the program's own messages are English) and digit runs that
look like a phone number are replaced.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterable

TEXT = "[text]"
NUMBER = "[number]"
MIN_PIECE = 4  # words of a secret this long or longer are taken out wherever they appear

_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+")
# 7 or more digits, possibly grouped (+86 138-1234-5678, (010) 6512 3456)
_PHONE = re.compile(r"\+?\(?\d[\d\s().-]{5,}\d")
_WORD = re.compile(r"[\w@.+-]+")
_FIXED = ("Traceback (most recent call last):", "The above exception was the direct cause",
          "During handling of the above exception")  # fmt: skip


def _digits(match: re.Match[str]) -> str:
    found = match.group(0)
    return NUMBER if sum(ch.isdigit() for ch in found) >= 7 else found


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without the secrets, their words, Chinese text and phone-like numbers."""
    pieces: set[str] = set()
    for secret in secrets:
        if secret:
            pieces.add(secret)
            pieces.update(w for w in _WORD.findall(secret) if len(w) >= MIN_PIECE)
    for piece in sorted(pieces, key=len, reverse=True):  # longest first: a whole body before its words
        text = text.replace(piece, TEXT)
    text = _CJK.sub(TEXT, text)
    return _PHONE.sub(_digits, text)


def redacted_traceback(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """The formatted traceback (with its chain) of `exc`, exception messages redacted."""
    secrets = list(secrets)
    lines = []
    for line in "".join(traceback.format_exception(exc)).splitlines():
        is_message = line and not line[0].isspace() and not line.startswith(_FIXED)
        # frames are code: only Chinese text and phone numbers could be there (exception groups)
        lines.append(redact(line, secrets if is_message else ()))
    return "\n".join(lines)
