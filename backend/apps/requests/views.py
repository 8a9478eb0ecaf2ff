"""`/api/requests/`: members of a request's unit see and act on it; others get 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request as HttpRequest
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.selectors import user_unit_ids
from apps.core.api import query_filters, represent
from apps.core.schema import ERROR, AutoSchema

from . import services
from .models import Request
from .serializers import (
    AllocateSerializer,
    CommentSerializer,
    ReasonSerializer,
    RequestCommentInSerializer,
    RequestCommentSerializer,
    RequestFilters,
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
    @extend_schema(parameters=[RequestFilters], responses=RequestSerializer(many=True))
    def get(self, request: HttpRequest) -> Response:
        requests = visible_requests(request.user).filter(**query_filters(request, RequestFilters))
        return Response(RequestSerializer(requests[:500], many=True).data)

    @extend_schema(request=RequestSerializer, responses={201: RequestSerializer})
    def post(self, request: HttpRequest) -> Response:
        serializer = RequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        created = services.request_create(actor=request.user, unit_id=data.pop("unit").pk, **data)
        return Response(represent(RequestSerializer, created), status=status.HTTP_201_CREATED)


class RequestDetailApi(APIView):
    @extend_schema(responses=RequestSerializer)
    def get(self, request: HttpRequest, pk: int) -> Response:
        return Response(RequestSerializer(get_request(request.user, pk)).data)


class RequestCommentListApi(APIView):
    """`GET|POST /api/requests/{id}/comments/`: the request's comments, oldest first."""

    @extend_schema(responses=RequestCommentSerializer(many=True))
    def get(self, request: HttpRequest, pk: int) -> Response:
        comments = get_request(request.user, pk).comments.select_related("author")
        return Response(RequestCommentSerializer(comments, many=True).data)

    @extend_schema(request=RequestCommentInSerializer, responses={201: RequestCommentSerializer})
    def post(self, request: HttpRequest, pk: int) -> Response:
        target = get_request(request.user, pk)
        serializer = RequestCommentInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.comment_create(actor=request.user, request=target, body=serializer.validated_data["body"])
        return Response(RequestCommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class RequestActionSchema(AutoSchema):
    """Each route of RequestActionApi takes the body its `body` serializer describes (or none)."""

    def get_request_serializer(self) -> Any:
        return getattr(self.view, "body", None)


class RequestActionApi(APIView):
    """One POST action of the workflow; `service` and the body's serializer come from urls.py."""

    service: Callable[..., Request] = staticmethod(services.request_approve)
    body: type[serializers.Serializer[Any]] | None = None
    schema = RequestActionSchema()

    @extend_schema(responses={200: RequestSerializer, 409: ERROR})
    def post(self, request: HttpRequest, pk: int) -> Response:
        target = get_request(request.user, pk)
        fields: dict[str, Any] = {}
        if self.body is not None:
            body = self.body(data=request.data)
            body.is_valid(raise_exception=True)
            fields = dict(body.validated_data)
        changed = self.service(actor=request.user, request=target, **fields)
        return Response(RequestSerializer(changed).data)


class RequestUpdateApi(APIView):
    """`PATCH /api/requests/<type>/update/` `{id, title?, crate?}`."""

    request_type = ""

    @extend_schema(request=RequestUpdateSerializer, responses={200: RequestSerializer, 404: ERROR, 409: ERROR})
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
