"""One member cannot stall everyone: a member with a thousand updates queued (a stuck client, an
album storm) waits in their own lane, and another member is answered meanwhile. (How fast: the
benchmark bench/flood.py.)"""

from __future__ import annotations

from bot.assemble import make_deps, running
from bot.core.i18n import t
from models.db import Database
from tests.conftest import add_member, make_settings

FLOOD = 1_000  # PTB has 256 processing slots


async def test_a_flooding_member_does_not_hold_up_another_member(emu, sqlite_url):
    # no database differences here: SQLite only
    db = Database(sqlite_url)
    await add_member(db, "苏建华", telegram_user_id=8301)
    await add_member(db, "廖艳", telegram_user_id=8302)
    flooder, other = emu.user(8301, "建华"), emu.user(8302, "廖艳")
    answered: dict[int, int] = {8301: 0, 8302: 0}  # counted as the emulator answers (cheap to read)
    apologies = [0]  # the flooder's first answer times out: the bot cannot know it arrived, and says sorry
    sorry = t("common.error", "zh")

    def count(call) -> None:  # type: ignore[no-untyped-def]
        if call.method == "sendMessage" and call.params.get("chat_id") in answered:
            if call.params.get("text") == sorry:
                apologies[0] += 1
            else:
                answered[call.params["chat_id"]] += 1

    emu.add_listener(count)
    emu.delay_next("sendMessage", 30.0)  # the flooder's first answer hangs (longer than the wait below, so a
    # loaded machine cannot let the flood through first): the rest of their queue waits
    try:
        async with running(make_deps(make_settings(sqlite_url, emu), db), poll_timeout=1):
            for _ in range(FLOOD):
                flooder.send_text("/help")
            other.send_text("/help")
            await emu.wait_for(lambda: answered[8302] == 1, 25, what="廖艳's /help")
            assert answered[8301] <= 1  # answered while the flood still waits in its own lane
            assert t("onboarding.help_header", "zh", name="廖艳") in other.texts()[0]
            await emu.wait_for(lambda: answered[8301] >= FLOOD, 120, what="the whole flood answered")
        # stopped: every update taken has been handled, so the counts are final. Exactly one answer
        # each (none lost, none sent twice), and one apology for the answer that timed out.
        assert (answered[8301], apologies[0], answered[8302]) == (FLOOD, 1, 1)
    finally:
        await db.dispose()
