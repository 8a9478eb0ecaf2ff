from django.db import models


class StorageLocation(models.Model):
    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="storage_locations")
    name = models.CharField(max_length=100)
    location = models.CharField(max_length=200, blank=True, default="")
    capacity = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("pk",)

    def __str__(self) -> str:
        return self.name
