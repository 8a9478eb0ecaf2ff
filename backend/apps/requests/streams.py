"""Streams of the request workflow: each unit's requests, and each request on its own; both
tell their subscribers who else is looking (presence)."""

from typing import Any

from apps.accounts.selectors import user_is_unit_member
from apps.realtime.streams import Stream, register

from .models import Request


def user_can_read_request(user: Any, request_id: int) -> bool:
    """A member of the request's unit (the comments endpoint's rule too)."""
    unit_id = Request.objects.filter(pk=request_id).values_list("unit_id", flat=True).first()
    return unit_id is not None and user_is_unit_member(user, unit_id)


unit_requests = register(
    Stream(
        "requests.unit.{unit_id:int}",
        route="requests/{unit_id}/",
        can_read=user_is_unit_member,
        events=("request.updated", "comment.created"),
        presence=True,
    )
)

request_item = register(
    Stream(
        "requests.item.{request_id:int}",
        route="request/{request_id}/",
        can_read=user_can_read_request,
        events=("request.updated", "comment.created"),
        presence=True,
    )
)
