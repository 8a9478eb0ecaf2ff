from apps.accounts.selectors import user_can_read_storage
from apps.realtime.streams import Stream, register

unit_storage = register(
    Stream(
        "storage.unit.{unit_id:int}",
        route="storage/{unit_id}/",
        can_read=user_can_read_storage,
        events=("storage.updated",),
    )
)
