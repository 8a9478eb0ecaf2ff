"""The transactional outbox: events of a change, written in the change's own transaction."""

from django.db import models


class OutboxEvent(models.Model):
    """
    An event waiting to be published. `publish_on_commit` writes it inside the caller's
    transaction and publishes it right after commit; if that fails (Redis away), the
    relay publishes it later. A row exists only until its event is published.
    """

    stream = models.CharField(max_length=200)
    payload = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    claim = models.UUIDField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("pk",)
        indexes = [models.Index(fields=["stream", "id"], name="outbox_stream_order")]

    def __str__(self) -> str:
        return f"{self.stream} #{self.pk}"
