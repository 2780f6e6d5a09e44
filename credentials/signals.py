"""Receivers connected in CredentialsConfig.ready() (explicit senders): after a service
or its spec snapshot is saved, record which of its secrets now wait for an admin to
confirm an origin (credentials.services.credential_origins_check). They run inside the
writer's transaction, so the audit event commits with the change that caused it."""

from .services import credential_origins_check


def service_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        credential_origins_check(service=instance)


def snapshot_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        credential_origins_check(service_id=instance.service_id, snapshot=instance)
