"""What every service raises for input it refuses: a catalogue text saying why, and whether asking
again can help. The dialogs (handlers.common.dialog) answer a refusal by asking the same step again
(or the step named by `field`), so one bad value never ends a dialog.
"""

from __future__ import annotations

from bot.core.i18n import t


class Refusal(Exception):
    """Input refused: `code` under the subclass's catalogue `prefix`, with `params`.

    Subclasses list the codes that are `FINAL` (the thing itself is gone or was changed by someone
    else: asking again cannot help), the codes whose refused text is handed back so nothing typed is
    lost (`HAND_BACK`), and the dialog field a code belongs to when it is not the current step's
    (`FIELDS`, e.g. a start time that passed while the summary was shown)."""

    prefix = ""
    FINAL: frozenset[str] = frozenset()
    HAND_BACK: frozenset[str] = frozenset()
    FIELDS: dict[str, str] = {}

    def __init__(self, code: str, /, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    @property
    def key(self) -> str:  # the older name of `code` in some services
        return self.code

    def text(self, lang: str) -> str:
        """The refusal in `lang`; a parameter may be a function of the language (a formatted day)."""
        params = {k: v(lang) if callable(v) else v for k, v in self.params.items()}
        return t(f"{self.prefix}{self.code}", lang, **params)

    @property
    def final(self) -> bool:
        return self.code in self.FINAL or any(
            code.endswith("*") and self.code.startswith(code[:-1]) for code in self.FINAL
        )

    @property
    def hand_back(self) -> bool:
        return self.code in self.HAND_BACK

    @property
    def field(self) -> str | None:
        return self.FIELDS.get(self.code)


class AskAgain(Refusal):
    """A dialog step's own refusal: `code` is a whole catalogue key; `hand_back` returns the
    refused text to the person (e.g. a description over the limit)."""

    def __init__(self, code: str, /, *, hand_back: bool = False, **params: object) -> None:
        super().__init__(code, **params)
        self._hand_back = hand_back

    @property
    def hand_back(self) -> bool:
        return self._hand_back
