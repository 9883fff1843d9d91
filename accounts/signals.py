"""A deactivated user loses every token at once, whatever path saved it (admin, service,
shell, a save(update_fields=["is_active"]))."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import User
from accounts.revocation import auth_epoch_bump, refresh_tokens_revoke


@receiver(post_save, sender=User, dispatch_uid="accounts.revoke_tokens_of_inactive_user")
def revoke_tokens_of_inactive_user(sender, instance, created, update_fields=None, **kwargs):
    if instance.is_active or created:
        return
    if update_fields is not None and "is_active" not in update_fields:
        return  # e.g. last_login; the user was revoked when it became inactive
    refresh_tokens_revoke(user=instance)
    transaction.on_commit(auth_epoch_bump)
