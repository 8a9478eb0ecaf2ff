"""Views: `POST /send/ {"unit", "title"}` calls `send_event("unit-<unit>", "message", ...)`."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_eventstream import send_event


@csrf_exempt
@require_POST
def event_send(request: HttpRequest) -> JsonResponse:
    """Publish the body to the unit's channel; 202."""
    payload = json.loads(request.body)
    unit = int(payload["unit"])
    send_event(f"unit-{unit}", "message", {"unit": unit, "title": str(payload["title"])})
    return JsonResponse({"sent": True}, status=202)


def healthz(request: HttpRequest) -> HttpResponse:
    """Alive."""
    return HttpResponse("ok")
