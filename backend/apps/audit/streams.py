from apps.accounts.selectors import user_can_read_audit
from apps.realtime.streams import Stream, register

unit_audit = register(
    Stream(
        "audit.unit.{unit_id:int}", route="audit/{unit_id}/", can_read=user_can_read_audit, events=("audit.created",)
    )
)
