from django.conf import settings
from django.db import models


class Request(models.Model):
    class Type(models.TextChoices):
        STORAGE = "storage", "storage"
        WITHDRAWAL = "withdrawal", "withdrawal"
        DESTRUCTION = "destruction", "destruction"

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        APPROVED = "approved", "approved"
        REJECTED = "rejected", "rejected"
        SENT_BACK = "sent_back", "sent back"
        ISSUED = "issued", "issued"
        RETURNED = "returned", "returned"

    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="requests")
    request_type = models.CharField(max_length=16, choices=Type.choices)
    title = models.CharField(max_length=200)
    crate = models.ForeignKey("documents.Crate", null=True, blank=True, on_delete=models.SET_NULL)
    storage = models.ForeignKey("storage.StorageLocation", null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requests")
    reason = models.CharField(max_length=500, blank=True, default="")
    comment = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-pk",)
        indexes = [models.Index(fields=["unit", "status"])]

    def __str__(self) -> str:
        return f"{self.request_type} request #{self.pk}: {self.title}"


class Comment(models.Model):
    """A comment on a request, by a member of its unit (`comment_create`)."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="request_comments")
    body = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("pk",)

    def __str__(self) -> str:
        return f"comment #{self.pk} on request #{self.request_id}"
