"""The launcher's WebSocket protocol (apps/realtime/daphne.py): what an open socket keeps.

A real handshake through Daphne's protocol on Twisted's in-memory transport; the server
object Daphne's protocol calls back is the smallest one that accepts the socket (a Daphne
server cannot run inside the test process beside its own reactor).
"""

from __future__ import annotations

import asyncio
import base64
import inspect
from typing import Any

from twisted.internet.testing import StringTransport

from apps.realtime.daphne import Inbox, _WebSocketFactory

KEY = base64.b64encode(b"0123456789abcdef").decode()
HANDSHAKE = (
    "GET /ws/?token=secret-token HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\nCookie: {'c' * 400}\r\n\r\n"
).encode()


class AcceptingServer:
    """What Daphne's WebSocket protocol calls on its server, accepting every socket."""

    root_path = ""
    proxy_forwarded_address_header = None

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    def protocol_connected(self, protocol: Any) -> None:
        pass

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> asyncio.Queue[Any]:
        self.scopes.append(scope)
        return asyncio.Queue()

    def log_action(self, *args: Any) -> None:
        pass


def open_socket(**options: Any) -> tuple[Any, StringTransport, AcceptingServer]:
    server = AcceptingServer()
    factory = _WebSocketFactory(server, server="Daphne")
    factory.setProtocolOptions(**options)
    protocol = factory.buildProtocol(("127.0.0.1", 50000))
    transport = StringTransport()
    protocol._raw_query_string = b"token=secret-token"  # Daphne's HTTP side sets it before handing over
    protocol.makeConnection(transport)
    protocol.dataReceived(HANDSHAKE)
    protocol.handle_reply({"type": "websocket.accept"})
    return protocol, transport, server


def test_an_open_socket_keeps_no_copy_of_the_factory_s_options() -> None:
    protocol, transport, _ = open_socket(autoPingTimeout=7, maxMessagePayloadSize=65536)
    assert b"101 Switching Protocols" in transport.value()
    copied = [name for name in protocol.CONFIG_ATTRS if name in vars(protocol)]
    assert copied == []
    assert (protocol.autoPingTimeout, protocol.maxMessagePayloadSize, protocol.failByDrop) == (7, 65536, False)
    # an option that is a function stays one (autobahn calls it with the offers alone)
    assert not inspect.ismethod(protocol.perMessageCompressionAccept)
    assert protocol.perMessageCompressionAccept([]) is None


def test_an_open_socket_drops_its_handshake_and_still_works() -> None:
    protocol, transport, server = open_socket()
    assert protocol.http_request_data == b"" and protocol.http_response_data == b""
    assert protocol.http_headers == {} and protocol.request.headers == {}
    kept = [name for name, value in vars(protocol).items() if "secret-token" in repr(value)]
    assert kept == ["_raw_query_string"], "the scope's query string is the only copy of the token"
    assert protocol.request.params == {} and protocol.request.path == "/ws/"
    (scope,) = server.scopes
    assert (b"cookie", b"c" * 400) in scope["headers"], "the scope keeps its own headers"
    transport.clear()
    protocol.handle_reply({"type": "websocket.send", "text": "hello"})
    assert transport.value() == b"\x81\x05hello"


async def test_the_inbox_hands_messages_over_in_order_to_waiting_and_later_getters() -> None:
    inbox = Inbox()
    inbox.put_nowait(1)
    assert await inbox.get() == 1
    waiting = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait(2)
    inbox.put_nowait(3)
    assert await waiting == 2
    assert await inbox.get() == 3


async def test_an_inbox_getter_cancelled_after_being_woken_leaves_the_message_to_the_next() -> None:
    inbox = Inbox()
    first, second = asyncio.ensure_future(inbox.get()), asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("message")  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs
    assert await asyncio.wait_for(second, 5) == "message"
    assert first.cancelled()
    assert inbox.getters == [] and inbox.items == []
