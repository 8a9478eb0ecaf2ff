from apps.realtime.streams import Stream, register

# Every signed-in user sees the warehouse board. SSE: GET /api/sales/sse/invoices/.
invoices = register(Stream("invoices", route="invoices/", events=("invoice.updated",)))
