from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apikeys.models import ApiKey
from apikeys.selectors import api_key_line, api_key_select
from apikeys.services import api_key_create, api_key_revoke, api_key_rotate
from core.errors import ApplicationError

ACTOR = "command:apikey"


class Command(BaseCommand):
    help = "Create, list, rotate or revoke API keys. A new key is printed once and stored hashed."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key and print it once.")
        create.add_argument("--name", required=True)
        create.add_argument("--admin", action="store_true", help="An admin key (X-ADMIN-API-KEY).")
        create.add_argument("--expires-in-days", type=float, help="The key stops working after this many days.")
        sub.add_parser("list", help="List keys (id, prefix, kind, state, last use, name).")
        which = "The key's id (first column of `list`), prefix or name; an ambiguous one lists the candidates."
        rotate = sub.add_parser("rotate", help="Replace a key: print a new one; the old one expires after a grace period.")
        rotate.add_argument("key", help=which)
        rotate.add_argument("--grace-hours", type=float, default=24.0, help="How long the old key keeps working (default 24).")
        revoke = sub.add_parser("revoke", help="Revoke a key; it stops working at once.")
        revoke.add_argument("key", help=which)

    def _one_key(self, reference: str) -> ApiKey:
        try:
            return api_key_select(reference)
        except ApplicationError as error:
            raise CommandError(error.message) from None

    def handle(self, *args, action, **options):
        if action == "create":
            days = options["expires_in_days"]
            if days is not None and days <= 0:
                raise CommandError("--expires-in-days must be positive.")
            expires_at = timezone.now() + timedelta(days=days) if days else None
            key, raw_key = api_key_create(name=options["name"], is_admin=options["admin"], expires_at=expires_at, actor=ACTOR)
            self.stderr.write(f"Created {key}. Copy the key now; it will not be shown again:")
            self.stdout.write(raw_key)
        elif action == "list":
            for key in ApiKey.objects.all():
                self.stdout.write(api_key_line(key))
        elif action == "rotate":
            if options["grace_hours"] < 0:
                raise CommandError("--grace-hours must not be negative.")
            old = self._one_key(options["key"])
            try:
                new_key, raw_key = api_key_rotate(key=old, grace=timedelta(hours=options["grace_hours"]), actor=ACTOR)
            except ApplicationError as error:  # a revoked key
                raise CommandError(error.message) from None
            self.stderr.write(
                f"Created {new_key}; {old.prefix}… stops working at {old.expires_at:%Y-%m-%d %H:%M:%S} UTC. "
                "Copy the new key now; it will not be shown again:"
            )
            self.stdout.write(raw_key)
        else:
            key = self._one_key(options["key"])
            api_key_revoke(key=key, actor=ACTOR)
            self.stdout.write(f"Revoked {key}.")
