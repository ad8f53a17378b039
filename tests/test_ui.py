"""The button-data codec every handler uses (bot/telegram/ui.py): what it makes, what it takes back,
and what it refuses (forged, stale or oversized data never reaches a handler)."""

from __future__ import annotations

import pytest

from bot.telegram.ui import MAX_DATA_BYTES, OFFSETS, ROW_IDS, Buttons, Press
from models.base import MAX_ROW_ID

REP = Buttons("rep")
EDIT = REP("edit", numbers=ROW_IDS)
TYPE = REP("type", word=True)
FIX_PART = REP("fix", words=("type", "date"))
FIX = REP("fix")
DONE = REP("photos:done")
MOVE = Buttons("ib")("m", words=("accept", "reject"), numbers=ROW_IDS)
LANG = Buttons("lang")(words=("zh", "en"))


def test_made_data_is_read_back() -> None:
    assert (EDIT(7), TYPE("research"), FIX_PART("date"), FIX(), DONE(), MOVE("accept", 42), LANG("en")) == (
        "rep:edit:7", "rep:type:research", "rep:fix:date", "rep:fix", "rep:photos:done", "ib:m:accept:42", "lang:en",
    )  # fmt: skip
    assert EDIT.parse("rep:edit:7") == Press(number=7)
    assert TYPE.parse("rep:type:research") == Press(word="research")
    assert MOVE.parse("ib:m:accept:42") == Press("accept", 42)
    assert FIX.parse("rep:fix") == Press() and DONE.parse("rep:photos:done") == Press()
    assert LANG.parse("lang:zh") == Press("zh")


@pytest.mark.parametrize(
    "data",
    [
        "rep:edit:0",  # ids start at 1
        f"rep:edit:{MAX_ROW_ID + 1}",  # wider than the column
        "rep:edit:99999999999999999999",
        "rep:edit:-1", "rep:edit:+5", "rep:edit:٣", "rep:edit:1e3", "rep:edit:", "rep:edit", "rep:edit:1:2",
        "rep:edits:1", "rp:edit:1", "", None, 7,
        "rep:edit:" + "1" * (MAX_DATA_BYTES + 1),
    ],
)  # fmt: skip
def test_a_number_that_does_not_fit_is_not_the_button(data: object) -> None:
    assert EDIT.parse(data) is None and not EDIT.matches(data)


def test_words_kinds_and_fixed_actions_are_told_apart() -> None:
    assert FIX_PART.parse("rep:fix:photos") is None  # not one of its words
    assert FIX.parse("rep:fix:date") is None and FIX_PART.parse("rep:fix") is None
    assert MOVE.parse("ib:m:delete:4") is None and MOVE.parse("ib:m:accept") is None
    assert TYPE.parse("rep:type:a:b") is None and TYPE.parse("rep:type:") is None
    assert DONE.parse("rep:photos:clear") is None and DONE.parse("rep:photos") is None
    assert LANG.parse("lang:fr") is None
    assert OFFSETS.start == 0 and Buttons("my")("page", numbers=OFFSETS).parse("my:page:0") == Press(number=0)


def test_data_a_button_cannot_carry_is_refused_when_made() -> None:
    with pytest.raises(ValueError):
        EDIT(0)
    with pytest.raises(ValueError):
        FIX_PART("photos")
    with pytest.raises(ValueError):
        TYPE("a:b")  # the separator
    with pytest.raises(ValueError):
        TYPE("调" * 30)  # 90 bytes: over Telegram's 64
    with pytest.raises(ValueError):
        FIX("extra")


def test_a_feature_owns_every_data_of_its_prefix() -> None:
    assert REP.owns("rep:edit:99999999999999999999") and REP.owns("rep:anything") and REP.owns("rep")
    assert not REP.owns("report:1") and not REP.owns(None)
