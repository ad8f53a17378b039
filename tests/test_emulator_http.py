"""The emulator's HTTP layer (asyncio server): framing, keep-alive, load and shutdown, over raw sockets."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.devtools.emulator import BotApiEmulator


@pytest.fixture
def emu():
    with BotApiEmulator() as e:
        yield e


async def connect(emu: BotApiEmulator) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(emu.host, emu.port)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


def post(emu: BotApiEmulator, method: str, body: bytes, ctype: str, extra: str = "") -> bytes:
    return (
        f"POST /bot{emu.token}/{method} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


async def test_chunked_json_and_pipelined_requests_on_one_connection(emu):
    u = emu.user(1001)
    reader, writer = await connect(emu)
    payload = json.dumps({"chat_id": 1001, "text": "分块"}, ensure_ascii=False).encode()
    chunked = (
        b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (payload[:7], payload[7:])) + b"0\r\n\r\n"
    )
    writer.write(
        f"POST /bot{emu.token}/sendMessage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
        + chunked
        # two more requests in the same write: answered in order on the same connection
        + post(
            emu,
            "sendMessage",
            b"chat_id=1001&text=%E8%A1%A8%E5%8D%95",
            "application/x-www-form-urlencoded",
        )
        + f"GET /bot{emu.token}/getMe?x=1 HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    )
    answers = [await read_response(reader) for _ in range(3)]
    writer.close()
    assert [status for status, _, _ in answers] == [200, 200, 200]
    assert [json.loads(body)["result"].get("text") for _, _, body in answers[:2]] == ["分块", "表单"]
    assert json.loads(answers[2][2])["result"]["username"] == emu.bot_user["username"]
    assert all(headers["connection"] == "keep-alive" for _, headers, _ in answers)
    assert u.texts() == ["分块", "表单"]


async def test_malformed_requests_are_refused_and_change_nothing(emu):
    u = emu.user(1001)
    reader, writer = await connect(emu)
    writer.write(b"NONSENSE\r\n\r\n")
    status, headers, _ = await read_response(reader)
    assert status == 400 and headers["connection"] == "close"
    assert await reader.read() == b""  # the connection is closed
    writer.close()

    reader, writer = await connect(emu)
    writer.write(post(emu, "sendMessage", b'{"chat_id": 1001, "text": ', "application/json"))
    status, _, body = await read_response(reader)
    assert status == 400 and json.loads(body)["ok"] is False
    writer.write(post(emu, "sendMessage", b"[1, 2]", "application/json"))  # JSON, but not an object
    status, _, _ = await read_response(reader)
    assert status == 400
    writer.write(
        f"POST /bot{emu.token}/sendMessage HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".encode()
    )
    status, _, _ = await read_response(reader)
    assert status == 400
    writer.close()
    assert u.messages() == [] and emu.calls == []


async def test_connection_close_is_honoured(emu):
    reader, writer = await connect(emu)
    writer.write(f"GET /bot{emu.token}/getMe HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
    status, headers, _ = await read_response(reader)
    assert status == 200 and headers["connection"] == "close"
    assert await reader.read() == b""
    writer.close()


async def test_long_poll_and_slow_answer_do_not_hold_up_other_requests(emu):
    u = emu.user(1001)
    poll_reader, poll_writer = await connect(emu)
    poll_writer.write(post(emu, "getUpdates", b"timeout=30", "application/x-www-form-urlencoded"))
    slow_reader, slow_writer = await connect(emu)
    emu.delay_next("sendMessage", 30)
    slow_writer.write(
        post(emu, "sendMessage", b"chat_id=1001&text=slow", "application/x-www-form-urlencoded")
    )
    await emu.wait_for(lambda: len(emu.calls_of("sendMessage")) == 1, what="the slow send handled")

    reader, writer = await connect(emu)
    for text in ("a", "b"):  # answered while the long poll and the slow answer are both pending
        writer.write(
            post(
                emu, "sendMessage", f"chat_id=1001&text={text}".encode(), "application/x-www-form-urlencoded"
            )
        )
        status, _, _ = await read_response(reader)
        assert status == 200
    assert u.texts() == ["slow", "a", "b"]
    pending = asyncio.ensure_future(read_response(poll_reader))
    await asyncio.sleep(0.05)
    assert not pending.done()  # still waiting: nothing was injected

    u.send_text("hi")  # from this thread: wakes the poll on the server loop
    status, _, body = await asyncio.wait_for(pending, 10)
    assert status == 200 and json.loads(body)["result"][0]["message"]["text"] == "hi"

    poll_writer.write(
        post(emu, "getUpdates", b"timeout=30&offset=999999999", "application/x-www-form-urlencoded")
    )
    await emu.wait_for(lambda: emu._polls_waiting == 1, what="the second poll waiting")
    await asyncio.to_thread(emu.stop)  # answers the poll and cuts the delay, then closes everything
    status, _, body = await read_response(poll_reader)
    assert status == 200 and json.loads(body)["result"] == []
    status, _, body = await read_response(slow_reader)
    assert status == 200 and json.loads(body)["result"]["text"] == "slow"
    for r in (poll_reader, slow_reader, reader):
        assert await r.read() == b""  # keep-alive connections closed by stop()
    for w in (poll_writer, slow_writer, writer):
        w.close()


async def test_300_simultaneous_connections_are_all_served(emu):
    for i in range(300):
        emu.user(20_000 + i)

    async def one(i: int) -> int:
        reader, writer = await connect(emu)
        writer.write(post(emu, "sendMessage", f"chat_id={20_000 + i}&text=n{i}".encode(),
                          "application/x-www-form-urlencoded"))  # fmt: skip
        status, _, _ = await read_response(reader)
        writer.close()
        return status

    statuses = await asyncio.gather(*(one(i) for i in range(300)))
    assert statuses == [200] * 300
    assert emu.stats["sent"] == 300 and all(len(emu.sent_to(20_000 + i)) == 1 for i in range(300))


async def test_restart_serves_again_on_a_new_port():
    emu = BotApiEmulator().start()
    first = emu.port
    emu.stop()
    emu.stop()  # idempotent
    emu.start()
    try:
        assert emu.port != 0
        reader, writer = await connect(emu)
        writer.write(f"GET /bot{emu.token}/getMe HTTP/1.1\r\n\r\n".encode())
        status, _, _ = await read_response(reader)
        writer.close()
        assert status == 200 and first != 0
    finally:
        emu.stop()
    with pytest.raises(OSError):
        await connect(emu)  # nothing listens any more
