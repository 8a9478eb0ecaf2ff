"""One `AsyncJsonWebsocketConsumer` per socket, a member of its unit's group."""

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from board.signals import unit_group


class UnitConsumer(AsyncJsonWebsocketConsumer):
    """Joins `unit_<id>` on connect and forwards each announcement as JSON."""

    group_name: str

    async def connect(self) -> None:
        """Join the unit's group, then accept."""
        self.group_name = unit_group(int(self.scope["url_route"]["kwargs"]["unit_id"]))
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        """Leave the unit's group."""
        await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def announcement_created(self, event: dict[str, Any]) -> None:
        """Handle `announcement.created`: encode and send it to this socket."""
        await self.send_json(event["announcement"])
