"""Self-tests of the harness's own parsers: `pytest -p no:django bench/test_bench.py`.

They feed hand-made byte streams, cut at awkward places, to the load client's WebSocket and
SSE readers, and check the scenario grammar and the percentile helper.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadclient import Recorder, SseProtocol, WebSocketProtocol, build_request
from metrics import percentiles
from scenarios import ScenarioSpecError, parse_scenario, parse_scenarios


class FakeTransport:
    """Collects what a protocol writes."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def feed_in_pieces(protocol: WebSocketProtocol | SseProtocol, data: bytes, size: int) -> None:
    for start in range(0, len(data), size):
        protocol.data_received(data[start : start + size])


def ws_frame(payload: bytes, opcode: int = 0x1, fin: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    if len(payload) < 126:
        return head + bytes([len(payload)]) + payload
    return head + bytes([126]) + len(payload).to_bytes(2, "big") + payload


def connect(protocol_class: type[WebSocketProtocol | SseProtocol], recorder: Recorder, head: bytes):
    protocol = protocol_class(b"", recorder, 0)
    transport = FakeTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    protocol.data_received(head)
    return protocol, transport


@pytest.mark.parametrize("piece", [1, 3, 7, 1000])
async def test_websocket_reader_counts_each_key_once_per_socket(piece: int) -> None:
    recorder = Recorder(key_base=10)
    protocol, _ = connect(
        WebSocketProtocol, recorder, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
    )
    big = b'{"data": {"title": "bench-11"}, "pad": "' + b"x" * 300 + b'"}'
    stream = (
        ws_frame(b'{"title": "bench-10"}')
        + ws_frame(big)
        + ws_frame(b'{"title": "bench-10"}')  # duplicate
        + ws_frame(b'{"title": "ben', fin=False)
        + ws_frame(b'ch-12"}', opcode=0x0)
        + ws_frame(b'{"title": "bench-9"}')  # below key_base: an earlier phase
        + ws_frame(b'{"type": "pong"}')
    )
    feed_in_pieces(protocol, stream, piece)
    assert protocol.ready.done()
    assert sorted(recorder.times) == [0, 1, 2]
    assert recorder.received == 3
    assert recorder.duplicates == 1
    assert recorder.other_frames == 2


async def test_websocket_reader_answers_ping_and_records_close_code() -> None:
    protocol, transport = connect(WebSocketProtocol, Recorder(), b"HTTP/1.1 101 OK\r\n\r\n")
    protocol.data_received(ws_frame(b"hi", opcode=0x9) + ws_frame((4429).to_bytes(2, "big"), opcode=0x8))
    pong, close = transport.written[:8], transport.written[8:]
    assert pong[0] == 0x8A and pong[1] == 0x80 | 2  # masked pong with the ping's payload
    assert bytes(b ^ pong[2 + (i & 3)] for i, b in enumerate(pong[6:8])) == b"hi"
    assert close[0] == 0x88
    assert protocol.close_code == 4429
    assert transport.closed


async def test_websocket_handshake_refusal_is_reported() -> None:
    protocol, _ = connect(WebSocketProtocol, Recorder(), b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(Exception, match="http 403"):
        await protocol.ready


@pytest.mark.parametrize("piece", [1, 2, 5, 4096])
async def test_sse_reader_dechunks_and_splits_events(piece: int) -> None:
    recorder = Recorder(key_base=1)
    protocol, _ = connect(SseProtocol, recorder, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    body = (
        b": padding\n\n"
        b'event: message\nid: 1\ndata: {"title": "bench-1"}\n\n'
        b'id: 2\r\ndata: {"title": "bench-2"}\r\n\r\n'
        b'data: {"title":\ndata: "bench-3"}\n\n'
    )
    chunks = b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (body[:20], body[20:61], body[61:]))
    feed_in_pieces(protocol, chunks, piece)
    assert sorted(recorder.times) == [0, 1, 2]  # a CRLF event and a two-line data field included
    assert recorder.other_frames == 1  # the comment


async def test_sse_reader_without_chunking() -> None:
    recorder = Recorder(key_base=1)
    protocol, _ = connect(SseProtocol, recorder, b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
    feed_in_pieces(protocol, b'data: {"title": "bench-1"}\n\ndata: {"title": "bench-2"}\n\n', 4)
    assert recorder.received == 2


def test_requests_carry_the_upgrade_or_accept_headers() -> None:
    host, port, ws = build_request("ws", "ws://127.0.0.1:8001/ws/requests/1/?token=abc")
    assert (host, port) == ("127.0.0.1", 8001)
    assert ws.startswith(b"GET /ws/requests/1/?token=abc HTTP/1.1\r\n")
    assert b"Upgrade: websocket\r\n" in ws and ws.endswith(b"\r\n\r\n")
    _, _, sse = build_request("sse", "http://127.0.0.1:8001/events/?channel=unit-0")
    assert b"Accept: text/event-stream\r\n" in sse


def test_scenario_specs_and_presets() -> None:
    grid = parse_scenario("ws:50x100@10")
    assert (grid.kind, grid.groups, grid.sockets, grid.rate) == ("fanout", 50, 5000, 10.0)
    storm = parse_scenario("storm:sse:2000/2")
    assert (storm.kind, storm.transport, storm.sockets, storm.spread_s) == ("storm", "sse", 2000, 2.0)
    assert parse_scenario("idle:ws:1000").kind == "idle"
    assert [s.spec for s in parse_scenarios("key,ws:1000@10")] == ["ws:1000@10", "sse:1000@10"]
    with pytest.raises(ScenarioSpecError):
        parse_scenario("ws:1000")


def test_percentiles_use_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    summary = percentiles(values)
    assert (summary["p50"], summary["p90"], summary["p99"], summary["max"]) == (50.0, 90.0, 99.0, 100.0)
    assert percentiles([]) == {}
