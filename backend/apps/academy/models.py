"""A student's submitted work, graded by the student's mentor."""

from django.conf import settings
from django.db import models


class Submission(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", "waiting"
        GRADED = "graded", "graded"

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    # The student's mentor when the work was submitted: the one who grades it.
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="submissions_to_grade"
    )
    title = models.CharField(max_length=200)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    graded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-pk",)
        indexes = [models.Index(fields=["mentor", "status"]), models.Index(fields=["student", "status"])]

    def __str__(self) -> str:
        return f"submission #{self.pk}: {self.title}"
