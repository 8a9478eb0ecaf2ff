"""What a client may send on a request's stream (`requests.item.<id>`): a comment, and
"typing" for the comment box of the other viewers."""

from __future__ import annotations

from typing import Any

from apps.core.api import represent
from apps.realtime.messages import on_message
from apps.realtime.publish import publish_ephemeral

from . import services
from .serializers import RequestCommentInSerializer, RequestCommentSerializer
from .streams import request_item
from .views import get_request


@on_message(request_item, "comment.create", serializer=RequestCommentInSerializer, rate="30/m")
def comment_create(*, user: Any, data: dict[str, Any], request_id: int) -> dict[str, Any]:
    """The same service as `POST /api/requests/{id}/comments/`; the reply is the comment."""
    comment = services.comment_create(actor=user, request=get_request(user, request_id), body=data["body"])
    return represent(RequestCommentSerializer, comment)


@on_message(request_item, "typing")
async def typing(*, user: Any, data: dict[str, Any], request_id: int) -> dict[str, Any]:
    """`comment.typing` to the stream's other subscribers: no id, not kept."""
    message = {"type": "comment.typing", "user_id": user.pk, "username": user.username}
    await publish_ephemeral(request_item.name(request_id=request_id), message)
    return {}
