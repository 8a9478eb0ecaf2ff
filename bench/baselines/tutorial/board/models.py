"""The one model: an announcement made to a unit."""

from django.db import models


class Announcement(models.Model):
    """A message for every socket of `unit`."""

    unit = models.PositiveIntegerField(db_index=True)
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title
