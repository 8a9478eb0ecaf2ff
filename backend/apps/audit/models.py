from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40)
    object_id = models.PositiveBigIntegerField()
    changes = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-pk",)
        indexes = [models.Index(fields=["unit", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} #{self.object_id}"
