from apps.accounts.selectors import user_is_unit_member
from apps.realtime.streams import Stream, register

unit_crates = register(
    Stream(
        "crates.unit.{unit_id:int}",
        route="crates/{unit_id}/",
        can_read=user_is_unit_member,
        events=("crate.updated",),
    )
)
