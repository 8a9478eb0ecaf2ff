"""Servers under test, each behind the small `Target` adapter interface of `targets.base`."""

from targets.bare import BareTarget
from targets.base import Target
from targets.eventstream import EventstreamTarget
from targets.node import NodeWsTarget
from targets.procs import TargetUnavailableError
from targets.prod import BareProdTarget, RawPublishTarget, SynclineProdTarget
from targets.syncline import SynclinePubSubTarget, SynclineRedisTarget, SynclineTarget, SynclineUvicornTarget
from targets.tutorial import TutorialTarget

TARGETS: dict[str, type[Target]] = {
    cls.name: cls
    for cls in (
        BareTarget,
        TutorialTarget,
        EventstreamTarget,
        SynclineTarget,
        SynclineUvicornTarget,
        SynclinePubSubTarget,
        SynclineRedisTarget,
        SynclineProdTarget,
        BareProdTarget,
        NodeWsTarget,
        RawPublishTarget,
    )
}
BASELINE = BareTarget.name

__all__ = ["BASELINE", "TARGETS", "Target", "TargetUnavailableError"]
