"""`/api/storage/`: members of a unit read its locations; its admins and staff write them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.selectors import user_can_read_storage, user_is_unit_member, user_unit_ids
from apps.core.api import query_filters

from . import services
from .models import StorageLocation
from .serializers import StorageFilters, StorageLocationSerializer, StorageLocationUpdateSerializer


def visible_storage(user: Any) -> QuerySet[StorageLocation]:
    if user.is_staff:
        return StorageLocation.objects.all()
    return StorageLocation.objects.filter(unit_id__in=user_unit_ids(user))


def require_storage_writer(user: Any, unit_id: int) -> None:
    if not user_can_read_storage(user, unit_id):
        raise exceptions.PermissionDenied("only the unit's admins and staff change storage locations")


class StorageListApi(APIView):
    @extend_schema(parameters=[StorageFilters], responses=StorageLocationSerializer(many=True))
    def get(self, request: Request) -> Response:
        locations = visible_storage(request.user).filter(**query_filters(request, StorageFilters))
        return Response(StorageLocationSerializer(locations, many=True).data)

    @extend_schema(request=StorageLocationSerializer, responses={201: StorageLocationSerializer})
    def post(self, request: Request) -> Response:
        serializer = StorageLocationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        unit = serializer.validated_data["unit"]
        if not (request.user.is_staff or user_is_unit_member(request.user, unit.pk)):
            raise exceptions.ValidationError({"unit": ["you are not a member of this unit"]})
        require_storage_writer(request.user, unit.pk)
        data = {k: v for k, v in serializer.validated_data.items() if k != "unit"}
        storage = services.storage_create(actor=request.user, unit_id=unit.pk, **data)
        return Response(StorageLocationSerializer(storage).data, status=status.HTTP_201_CREATED)


class StorageDetailApi(APIView):
    def get_object(self, request: Request, pk: int) -> StorageLocation:
        storage = visible_storage(request.user).filter(pk=pk).first()
        if storage is None:
            raise exceptions.NotFound()
        return storage

    @extend_schema(responses=StorageLocationSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(StorageLocationSerializer(self.get_object(request, pk)).data)

    @extend_schema(request=StorageLocationUpdateSerializer, responses=StorageLocationSerializer)
    def put(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=False)

    @extend_schema(request=StorageLocationUpdateSerializer, responses=StorageLocationSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=True)

    def _update(self, request: Request, pk: int, partial: bool) -> Response:
        storage = self.get_object(request, pk)
        require_storage_writer(request.user, storage.unit_id)
        serializer = StorageLocationUpdateSerializer(storage, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        storage = services.storage_update(actor=request.user, storage=storage, **serializer.validated_data)
        return Response(StorageLocationSerializer(storage).data)
