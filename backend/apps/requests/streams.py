from apps.accounts.selectors import user_is_unit_member
from apps.realtime.streams import Stream, register

unit_requests = register(
    Stream(
        "requests.unit.{unit_id:int}",
        route="requests/{unit_id}/",
        can_read=user_is_unit_member,
        events=("request.updated",),
        presence=True,
    )
)
