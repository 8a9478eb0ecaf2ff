"""HTTP views: a plain Django view that saves an announcement (the signal does the rest)."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from board.models import Announcement


@csrf_exempt
@require_POST
def announcement_create(request: HttpRequest) -> JsonResponse:
    """`POST {"unit": <int>, "title": <str>}` -> 201 `{"id": ...}`."""
    payload = json.loads(request.body)
    announcement = Announcement.objects.create(unit=int(payload["unit"]), title=str(payload["title"])[:200])
    return JsonResponse({"id": announcement.pk}, status=201)


def healthz(request: HttpRequest) -> HttpResponse:
    """Alive."""
    return HttpResponse("ok")
