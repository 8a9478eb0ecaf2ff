from django.urls import path

from apps.realtime.sse import stream_view

from . import views
from .models import Invoice
from .streams import invoices

Stage = Invoice.Stage
# URL of each workflow step after the import -> the stage it moves the invoice to.
STEP_URLS = {
    "picking/start/": Stage.PICKING_STARTED,
    "picking/complete/": Stage.PICKING_COMPLETED,
    "packing/start/": Stage.PACKING_STARTED,
    "packing/complete/": Stage.PACKING_COMPLETED,
    "delivery/start/": Stage.DELIVERY_STARTED,
    "delivery/complete/": Stage.DELIVERY_COMPLETED,
}

urlpatterns = [
    path("invoices/", views.InvoiceListApi.as_view(), name="invoice-list"),
    path("invoices/<id:pk>/", views.InvoiceDetailApi.as_view(), name="invoice-detail"),
    path("import/invoice/", views.InvoiceImportApi.as_view(), name="invoice-import"),
    *[
        path(url, views.InvoiceStepApi.as_view(stage=stage), name=f"invoice-{stage.replace('_', '-')}")
        for url, stage in STEP_URLS.items()
    ],
    # Server-Sent Events: `new EventSource('/api/sales/sse/invoices/')`.
    path("sse/invoices/", stream_view(invoices.name()), name="invoice-sse"),
]
