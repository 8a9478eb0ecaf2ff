"""Access changes made anywhere (admin included) re-check the user's open connections."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.realtime.control import revalidate_user

from .models import Membership, User


@receiver(post_save, sender=User)
def user_saved(sender: Any, instance: User, **kwargs: Any) -> None:
    if not instance.is_active:
        revalidate_user(instance.pk)


@receiver([post_save, post_delete], sender=Membership)
def membership_changed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    revalidate_user(instance.user_id)
