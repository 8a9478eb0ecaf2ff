"""`/api/sales/`: the invoice workflow for any signed-in user (thin views over services)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import query_filters
from apps.core.schema import ERROR

from . import services
from .models import Invoice
from .serializers import InvoiceFilters, InvoiceImportSerializer, InvoiceSerializer, InvoiceStepSerializer


class InvoiceListApi(APIView):
    """`GET /api/sales/invoices/[?stage=]`: what a client refetches after `stream.reset`."""

    @extend_schema(parameters=[InvoiceFilters], responses=InvoiceSerializer(many=True))
    def get(self, request: Request) -> Response:
        invoices = Invoice.objects.filter(**query_filters(request, InvoiceFilters))
        return Response(InvoiceSerializer(invoices[:500], many=True).data)


class InvoiceDetailApi(APIView):
    @extend_schema(responses=InvoiceSerializer)
    def get(self, request: Request, pk: int) -> Response:
        invoice = Invoice.objects.filter(pk=pk).first()
        if invoice is None:
            raise exceptions.NotFound()
        return Response(InvoiceSerializer(invoice).data)


class InvoiceImportApi(APIView):
    """`POST /api/sales/import/invoice/` `{number, customer, total, customer_email?}` -> 201."""

    @extend_schema(request=InvoiceImportSerializer, responses={201: InvoiceSerializer, 409: ERROR})
    def post(self, request: Request) -> Response:
        body = InvoiceImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        invoice = services.invoice_import(actor=request.user, **body.validated_data)
        return Response(InvoiceSerializer(invoice).data, status=status.HTTP_201_CREATED)


class InvoiceStepApi(APIView):
    """`POST /api/sales/<step>/` `{invoice_id}`; `stage` comes from urls.py."""

    stage = ""

    @extend_schema(request=InvoiceStepSerializer, responses={200: InvoiceSerializer, 404: ERROR, 409: ERROR})
    def post(self, request: Request) -> Response:
        body = InvoiceStepSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        invoice = services.invoice_advance(
            actor=request.user, invoice_id=body.validated_data["invoice_id"], stage=self.stage
        )
        return Response(InvoiceSerializer(invoice).data)
