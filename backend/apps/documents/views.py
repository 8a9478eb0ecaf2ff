"""`/api/documents/crates/`: members of a unit read and write its crates; others get 404."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.selectors import user_is_unit_member, user_unit_ids
from apps.core.api import query_filters

from . import services
from .models import Crate
from .serializers import CrateFilters, CrateSerializer, CrateUpdateSerializer, RelocateSerializer


def visible_crates(user: Any) -> QuerySet[Crate]:
    return Crate.objects.filter(unit_id__in=user_unit_ids(user))


def get_crate(user: Any, pk: int) -> Crate:
    crate = visible_crates(user).filter(pk=pk).first()
    if crate is None:
        raise exceptions.NotFound()
    return crate


class CrateListApi(APIView):
    @extend_schema(parameters=[CrateFilters], responses=CrateSerializer(many=True))
    def get(self, request: Request) -> Response:
        crates = visible_crates(request.user).filter(**query_filters(request, CrateFilters))
        return Response(CrateSerializer(crates, many=True).data)

    @extend_schema(request=CrateSerializer, responses={201: CrateSerializer})
    def post(self, request: Request) -> Response:
        serializer = CrateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        unit = data.pop("unit")
        if not user_is_unit_member(request.user, unit.pk):
            raise exceptions.ValidationError({"unit": ["you are not a member of this unit"]})
        crate = services.crate_create(actor=request.user, unit_id=unit.pk, **data)
        return Response(CrateSerializer(crate).data, status=status.HTTP_201_CREATED)


class CrateDetailApi(APIView):
    @extend_schema(responses=CrateSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(CrateSerializer(get_crate(request.user, pk)).data)

    @extend_schema(request=CrateUpdateSerializer, responses=CrateSerializer)
    def put(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=False)

    @extend_schema(request=CrateUpdateSerializer, responses=CrateSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=True)

    def _update(self, request: Request, pk: int, partial: bool) -> Response:
        crate = get_crate(request.user, pk)
        serializer = CrateUpdateSerializer(crate, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        crate = services.crate_update(actor=request.user, crate=crate, **serializer.validated_data)
        return Response(CrateSerializer(crate).data)


class CrateRelocateApi(APIView):
    @extend_schema(request=RelocateSerializer, responses=CrateSerializer)
    def post(self, request: Request, pk: int) -> Response:
        crate = get_crate(request.user, pk)
        serializer = RelocateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        crate = services.crate_relocate(actor=request.user, crate=crate, storage=serializer.validated_data["storage"])
        return Response(CrateSerializer(crate).data)
