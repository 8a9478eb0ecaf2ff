"""Self-tests of the harness's own parsers: `pytest -p no:django bench/test_bench.py`.

They feed hand-made byte streams, cut at awkward places, to the load client's WebSocket and
SSE readers (subscriptions of the multiplexed socket included), check the collector's cross-unit
counter, the scenario grammar, the publish scenario's limit, the report and the percentile helper.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import _step_ok
from loadclient import Recorder, SseProtocol, WebSocketProtocol, Worker, build_request
from metrics import percentiles
from report import render_markdown
from run import cross_unit_failures
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


def test_tenant_and_publish_specs() -> None:
    tenants = parse_scenario("tenants:500x10@100")
    assert (tenants.kind, tenants.transport, tenants.groups, tenants.per_group, tenants.sockets, tenants.rate) == (
        "tenants",
        "ws",
        500,
        10,
        5000,
        100.0,
    )
    assert "500 units x 10 users" in tenants.describe(10)
    publish = parse_scenario("publish:1000")
    assert (publish.kind, publish.sockets, publish.groups) == ("publish", 1000, 1)
    for bad in ("tenants:0x10@100", "tenants:500@100", "publish:", "publish:10@5"):
        with pytest.raises(ScenarioSpecError):
            parse_scenario(bad)


async def test_websocket_subscribes_and_waits_for_every_acknowledgement() -> None:
    recorder = Recorder(key_base=1)
    protocol, transport = connect(WebSocketProtocol, recorder, b"HTTP/1.1 101 OK\r\n\r\n")
    protocol.subscribe(("requests.unit.1", "notifications.user.7"))
    sent = bytes(transport.written)
    payloads = []
    while sent:  # two masked text frames, in order
        length = sent[1] & 0x7F
        mask, body = sent[2:6], sent[6 : 6 + length]
        payloads.append(bytes(b ^ mask[i & 3] for i, b in enumerate(body)))
        sent = sent[6 + length :]
    assert payloads == [
        b'{"type": "subscribe", "stream": "requests.unit.1"}',
        b'{"type": "subscribe", "stream": "notifications.user.7"}',
    ]
    protocol.data_received(ws_frame(b'{"type":"subscribed","stream":"requests.unit.1"}'))
    assert not protocol.subscribed.done()
    protocol.data_received(ws_frame(b'{"type": "subscribed", "stream": "notifications.user.7"}'))
    assert protocol.subscribed.done()
    protocol.data_received(ws_frame(b'{"type": "subscribed", "data": {"title": "bench-1"}}'))  # after: an event
    assert recorder.received == 1


async def test_a_refused_subscription_fails_the_connect() -> None:
    protocol, _ = connect(WebSocketProtocol, Recorder(), b"HTTP/1.1 101 OK\r\n\r\n")
    protocol.subscribe(("requests.unit.2",))
    protocol.data_received(ws_frame(b'{"type": "error", "stream": "requests.unit.2", "code": 4403}'))
    with pytest.raises(Exception, match="subscribe refused"):
        await protocol.subscribed


async def test_the_collector_counts_receipts_outside_their_group() -> None:
    worker = Worker()
    worker.recorder.key_base = 100
    sockets = []
    for group in (0, 0, 1):
        protocol, _ = connect(WebSocketProtocol, worker.recorder, b"HTTP/1.1 101 OK\r\n\r\n")
        protocol.group = group
        sockets.append(protocol)
    worker.conns = list(sockets)
    for protocol in sockets[:2]:
        protocol.data_received(ws_frame(b'{"title": "bench-100"}'))
    sockets[2].data_received(ws_frame(b'{"title": "bench-101"}'))
    sockets[2].data_received(ws_frame(b'{"title": "bench-100"}'))  # unit 0's event on unit 1's socket
    t0 = {100: 0.0, 101: 0.0}
    report = worker.collect(t0, {100: 0, 101: 1})
    assert (report.received, report.cross_group) == (4, 1)
    assert worker.collect(t0).cross_group == 0  # without groups nothing is checked


def test_publish_knee_stops_at_the_first_step_over_the_limit() -> None:
    step = {"rate": 100, "latency_ms": {"p99": 80.0}, "delivery": 1.0, "post_errors": {}, "achieved_rate": 99.0}
    assert _step_ok(step)
    assert not _step_ok({**step, "latency_ms": {"p99": 101.0}})
    assert not _step_ok({**step, "delivery": 0.98})
    assert not _step_ok({**step, "achieved_rate": 50.0})
    assert not _step_ok({**step, "latency_ms": {}})


def test_a_cross_unit_receipt_fails_the_run_and_shows_in_the_report() -> None:
    row = {
        "kind": "tenants",
        "connected": 4,
        "requested_sockets": 4,
        "sent": 2,
        "delivery": 1.0,
        "cross_unit": 1,
        "latency_ms": {"p50": 1.0, "p99": 2.0},
        "server_cpu_us_per_msg": 10.0,
        "aux_cpu_us_per_msg": 1.0,
        "client_cpu_us_per_msg": 1.0,
        "server_cpu_pct": 5.0,
        "other_cpu_pct": 0.0,
        "server_rss_mb_peak": 50.0,
    }
    results = {
        "meta": {"command": "x", "started": "now", "cpu_count": 2, "loadavg_start": 0.0, "load_client_workers": 1},
        "scenarios": {"tenants:2x2@1": {"kind": "tenants", "description": "d", "targets": {"syncline": row}}},
        "skipped": {},
    }
    results["meta"]["python"] = "3"
    text = render_markdown(results, "bare")
    assert "| delivery | cross-unit | p50 ms |" in text
    assert "1 receipts outside their unit: FAILED" in text
    assert cross_unit_failures(results) == {"tenants:2x2@1 on syncline": 1}
