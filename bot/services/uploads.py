"""What an uploaded file really is, read from its bytes: a file's name and declared type are only
the sender's claim (`setup.exe` declared application/pdf). No Telegram here: the handlers download
the file (handlers/uploads.py) and ask these functions.
"""

from __future__ import annotations

import io
import warnings
import zipfile

from PIL import Image

MAX_BYTES = 20 * 1024 * 1024  # Telegram's getFile limit for bots
PDF_MAGIC = b"%PDF-"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Word 97–2003 .doc (a compound file)
ZIP_MAGIC = b"PK\x03\x04"


def document_format(data: bytes) -> str | None:
    """"pdf", "doc" or "docx" when the bytes are one, else None."""
    if data[:1024].lstrip().startswith(PDF_MAGIC):
        return "pdf"
    if data.startswith(OLE_MAGIC):
        return "doc"
    if data.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return None
        return "docx" if "word/document.xml" in names else None
    return None


def image_decodes(data: bytes) -> bool:
    """True when the bytes are an image that opens and decodes to the last pixel.

    `verify()` checks the structure, `load()` the pixel data (a photo cut off half way passes the
    first, not the second). Images too large to be anything but a decompression bomb are refused.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    except Exception:  # Pillow raises many kinds (OSError, SyntaxError, ValueError…) for a broken file
        return False
    return True
