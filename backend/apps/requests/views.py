"""`/api/requests/`: members of a request's unit see and act on it; others get 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request as HttpRequest
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.selectors import user_unit_ids
from apps.core.api import int_param

from . import services
from .models import Request
from .serializers import (
    AllocateSerializer,
    CommentSerializer,
    ReasonSerializer,
    RequestCommentInSerializer,
    RequestCommentSerializer,
    RequestSerializer,
    RequestUpdateSerializer,
)


def visible_requests(user: Any) -> QuerySet[Request]:
    return Request.objects.filter(unit_id__in=user_unit_ids(user)).select_related("requester")


def get_request(user: Any, pk: int) -> Request:
    request = visible_requests(user).filter(pk=pk).first()
    if request is None:
        raise exceptions.NotFound()
    return request


class RequestListApi(APIView):
    def get(self, request: HttpRequest) -> Response:
        requests = visible_requests(request.user)
        if (unit_id := int_param(request, "unit")) is not None:
            requests = requests.filter(unit_id=unit_id)
        if status_filter := request.query_params.get("status"):
            requests = requests.filter(status=status_filter)
        return Response(RequestSerializer(requests[:500], many=True).data)

    def post(self, request: HttpRequest) -> Response:
        serializer = RequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        created = services.request_create(actor=request.user, unit_id=data.pop("unit").pk, **data)
        return Response(RequestSerializer(created).data, status=status.HTTP_201_CREATED)


class RequestDetailApi(APIView):
    def get(self, request: HttpRequest, pk: int) -> Response:
        return Response(RequestSerializer(get_request(request.user, pk)).data)


class RequestCommentListApi(APIView):
    """`GET|POST /api/requests/{id}/comments/`: the request's comments, oldest first."""

    def get(self, request: HttpRequest, pk: int) -> Response:
        comments = get_request(request.user, pk).comments.select_related("author")
        return Response(RequestCommentSerializer(comments, many=True).data)

    def post(self, request: HttpRequest, pk: int) -> Response:
        target = get_request(request.user, pk)
        serializer = RequestCommentInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.comment_create(actor=request.user, request=target, body=serializer.validated_data["body"])
        return Response(RequestCommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class RequestActionApi(APIView):
    """One POST action of the workflow; `action` and the body's serializer come from urls.py."""

    action: Callable[..., Request] = staticmethod(services.request_approve)
    body: type[serializers.Serializer[Any]] | None = None

    def post(self, request: HttpRequest, pk: int) -> Response:
        target = get_request(request.user, pk)
        fields: dict[str, Any] = {}
        if self.body is not None:
            body = self.body(data=request.data)
            body.is_valid(raise_exception=True)
            fields = dict(body.validated_data)
        changed = self.action(actor=request.user, request=target, **fields)
        return Response(RequestSerializer(changed).data)


class RequestUpdateApi(APIView):
    """`PATCH /api/requests/<type>/update/` `{id, title?, crate?}`."""

    request_type = ""

    def patch(self, request: HttpRequest) -> Response:
        body = RequestUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        target = get_request(request.user, fields.pop("id"))
        if target.request_type != self.request_type:
            raise exceptions.NotFound(f"request {target.pk} is not a {self.request_type} request")
        changed = services.request_update(actor=request.user, request=target, **fields)
        return Response(RequestSerializer(changed).data)


ACTIONS: dict[str, tuple[Callable[..., Request], type[serializers.Serializer[Any]] | None]] = {
    "approve": (services.request_approve, None),
    "reject": (services.request_reject, ReasonSerializer),
    "send-back": (services.request_send_back, CommentSerializer),
    "allocate-storage": (services.request_allocate_storage, AllocateSerializer),
    "issue": (services.request_issue, None),
    "return": (services.request_return, None),
}
