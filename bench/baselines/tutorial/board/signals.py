"""The tutorial pattern: `post_save` -> `async_to_sync(channel_layer.group_send)`."""

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db.models.signals import post_save
from django.dispatch import receiver

from board.models import Announcement


def unit_group(unit: int) -> str:
    """The channel-layer group of a unit's sockets."""
    return f"unit_{unit}"


@receiver(post_save, sender=Announcement)
def announcement_broadcast(sender: type[Announcement], instance: Announcement, created: bool, **kwargs: Any) -> None:
    """Send a new announcement to every consumer in the unit's group."""
    if not created:
        return
    channel_layer = get_channel_layer()
    assert channel_layer is not None, "CHANNEL_LAYERS is not configured"
    async_to_sync(channel_layer.group_send)(
        unit_group(instance.unit),
        {
            "type": "announcement.created",
            "announcement": {
                "id": instance.pk,
                "unit": instance.unit,
                "title": instance.title,
                "created_at": instance.created_at.isoformat(),
            },
        },
    )
