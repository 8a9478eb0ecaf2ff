from typing import Any

from apps.realtime.streams import Stream, register

from .models import Job


def user_can_read_job(user: Any, job_id: str) -> bool:
    """The job's owner and staff."""
    if not user.is_authenticated:
        return False
    return bool(user.is_staff) or Job.objects.filter(job_id=job_id, user_id=user.pk).exists()


# A late subscriber first gets the job's latest state (replay_latest).
job_progress = register(
    Stream(
        "progress.job.{job_id:uuid}",
        route="progress/{job_id}/",
        can_read=user_can_read_job,
        events=("progress.updated",),
        sse_alias="progress-{job_id:uuid}",
        replay_latest=True,
    )
)
