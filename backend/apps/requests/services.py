"""
The request workflow. Every transition checks the current status (409 and nothing
published otherwise), saves, publishes `request.updated` on commit and records the audit
trail (`REQUESTS.save`); one that changes nothing (an update to the values the request
has, storage allocated again to the same location) does none of that. Who may do what:

| action | from | to | who |
|---|---|---|---|
| approve / reject / send back | pending | approved / rejected / sent_back | approvers, unit admins, staff |
| allocate storage | approved | approved (storage set) | store heads, unit admins, staff |
| issue | approved | issued | store heads, unit admins, staff |
| return | issued | returned | store heads, unit admins, staff |
| update (title, crate) | pending, sent_back | pending | the requester, unit admins, staff |

Each change publishes `request.updated` on the unit's stream and on the request's own
(`requests.item.<id>`). A comment (`comment_create`, any member of the unit, in any status)
publishes `comment.created` on both and records an audit entry.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework.exceptions import PermissionDenied, ValidationError

from apps.accounts.selectors import Role, unit_members, user_has_unit_role, user_is_unit_member
from apps.audit.services import AuditedModel, audit_record
from apps.core.api import Conflict, represent
from apps.documents.models import Crate
from apps.notifications.services import notify_user
from apps.realtime.publish import publish_on_commit
from apps.storage.models import StorageLocation

from .events import CommentCreated, RequestUpdated
from .models import Comment, Request
from .serializers import RequestCommentSerializer, RequestSerializer
from .streams import request_item, unit_requests

Status = Request.Status
DECIDERS: set[str] = {Role.APPROVER, Role.ADMIN}
KEEPERS: set[str] = {Role.STORE_HEAD, Role.ADMIN}
REQUESTS = AuditedModel(
    fields=("title", "crate", "storage", "status", "reason", "comment"),
    stream=unit_requests,
    event=RequestUpdated,
    serializer=RequestSerializer,
    own_stream=lambda request: request_item.name(request_id=request.pk),
)


def _require(actor: Any, request: Request, roles: set[str], what: str) -> None:
    if not user_has_unit_role(actor, request.unit_id, roles):
        raise PermissionDenied(f"you may not {what} requests in this unit")


VERBS = {
    "approved": "approve",
    "rejected": "reject",
    "sent_back": "send back",
    "storage_allocated": "allocate storage for",
    "issued": "issue",
    "returned": "return",
    "updated": "edit",
}


def _transition(
    *, actor: Any, request: Request, roles: set[str], allowed_from: set[str], action: str, **changes: Any
) -> Request:
    """Lock the row, check who and from which status, apply `changes`, publish (if they change anything)."""
    _require(actor, request, roles, VERBS[action])
    request = Request.objects.select_for_update().get(pk=request.pk)
    if request.status not in allowed_from:
        raise Conflict(f"cannot {VERBS[action]} a request that is {request.status}")
    before = REQUESTS.snapshot(request)
    for key, value in changes.items():
        setattr(request, key, value)
    REQUESTS.save(request, actor=actor, action=action, before=before, status=request.status)
    return request


@transaction.atomic
def request_create(*, actor: Any, unit_id: int, request_type: str, title: str, crate: Crate | None = None) -> Request:
    if not user_is_unit_member(actor, unit_id):
        raise ValidationError({"unit": ["you are not a member of this unit"]})
    request = Request(unit_id=unit_id, request_type=request_type, title=title, crate=crate, requester=actor)
    REQUESTS.save(request, actor=actor, action="created", status=request.status)
    return request


@transaction.atomic
def request_approve(*, actor: Any, request: Request) -> Request:
    return _transition(
        actor=actor,
        request=request,
        roles=DECIDERS,
        allowed_from={Status.PENDING},
        action="approved",
        status=Status.APPROVED,
    )


@transaction.atomic
def request_reject(*, actor: Any, request: Request, reason: str) -> Request:
    return _transition(
        actor=actor,
        request=request,
        roles=DECIDERS,
        allowed_from={Status.PENDING},
        action="rejected",
        status=Status.REJECTED,
        reason=reason,
    )


@transaction.atomic
def request_send_back(*, actor: Any, request: Request, comment: str) -> Request:
    """Back to the requester for changes; the requester and the unit's approvers are told."""
    request = _transition(
        actor=actor,
        request=request,
        roles=DECIDERS,
        allowed_from={Status.PENDING},
        action="sent_back",
        status=Status.SENT_BACK,
        comment=comment,
    )
    recipients = {request.requester, *unit_members(request.unit_id, {Role.APPROVER})}
    for recipient in sorted(recipients, key=lambda user: user.pk):
        notify_user(
            recipient=recipient,
            title=f"Request #{request.pk} sent back",
            body=f"{request.title}: {comment}",
            level="warning",
            sender=actor,
        )
    return request


@transaction.atomic
def request_allocate_storage(*, actor: Any, request: Request, storage: StorageLocation) -> Request:
    if storage.unit_id != request.unit_id:
        raise ValidationError({"storage": ["must be a storage location of the request's unit"]})
    return _transition(
        actor=actor,
        request=request,
        roles=KEEPERS,
        allowed_from={Status.APPROVED},
        action="storage_allocated",
        storage=storage,
    )


@transaction.atomic
def request_issue(*, actor: Any, request: Request) -> Request:
    return _transition(
        actor=actor,
        request=request,
        roles=KEEPERS,
        allowed_from={Status.APPROVED},
        action="issued",
        status=Status.ISSUED,
    )


@transaction.atomic
def request_return(*, actor: Any, request: Request) -> Request:
    return _transition(
        actor=actor,
        request=request,
        roles=KEEPERS,
        allowed_from={Status.ISSUED},
        action="returned",
        status=Status.RETURNED,
    )


@transaction.atomic
def request_update(*, actor: Any, request: Request, **fields: Any) -> Request:
    """Edit title or crate while pending or sent back; a sent-back request is resubmitted."""
    if actor.pk != request.requester_id:
        _require(actor, request, {Role.ADMIN}, "edit others'")  # "you may not edit others' requests"
    crate = fields.get("crate")
    if crate is not None and crate.unit_id != request.unit_id:
        raise ValidationError({"crate": ["must be a crate of the request's unit"]})
    return _transition(
        actor=actor,
        request=request,
        roles=set(Role),
        allowed_from={Status.PENDING, Status.SENT_BACK},
        action="updated",
        status=Status.PENDING,
        **fields,
    )


@transaction.atomic
def comment_create(*, actor: Any, request: Request, body: str) -> Comment:
    """A comment by a member of the request's unit (the caller found the request through
    the member's own requests: others get 404 before this)."""
    if not user_is_unit_member(actor, request.unit_id):
        raise PermissionDenied("you are not a member of this request's unit")
    comment = Comment.objects.create(request=request, author=actor, body=body)
    event = CommentCreated(
        action="created",
        object_id=comment.pk,
        request_id=request.pk,
        data=represent(RequestCommentSerializer, comment),
        updated_by=actor.username,
    )
    for stream in REQUESTS.streams(request):
        publish_on_commit(stream, event)
    audit_record(actor=actor, unit_id=request.unit_id, action="commented", obj=comment, changes={"body": body})
    return comment
