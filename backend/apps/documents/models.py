from django.db import models


class Crate(models.Model):
    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="crates")
    code = models.CharField(max_length=50)
    description = models.CharField(max_length=500, blank=True, default="")
    storage = models.ForeignKey(
        "storage.StorageLocation", null=True, blank=True, on_delete=models.SET_NULL, related_name="crates"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("pk",)
        constraints = [models.UniqueConstraint(fields=["unit", "code"], name="crate_code_unique_in_unit")]

    def __str__(self) -> str:
        return self.code
