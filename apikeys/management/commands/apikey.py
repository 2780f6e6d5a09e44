from django.core.management.base import BaseCommand, CommandError

from apikeys.models import ApiKey
from apikeys.services import api_key_create, api_key_revoke


class Command(BaseCommand):
    help = "Create, list or revoke API keys. A new key is printed once and stored hashed."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key and print it once.")
        create.add_argument("--name", required=True)
        create.add_argument("--admin", action="store_true", help="An admin key (X-ADMIN-API-KEY).")
        sub.add_parser("list", help="List keys (prefix, kind, state).")
        revoke = sub.add_parser("revoke", help="Revoke a key by its prefix.")
        revoke.add_argument("prefix")

    def handle(self, *args, action, **options):
        if action == "create":
            key, raw_key = api_key_create(name=options["name"], is_admin=options["admin"])
            self.stderr.write(f"Created {key}. Copy the key now; it will not be shown again:")
            self.stdout.write(raw_key)
        elif action == "list":
            for key in ApiKey.objects.all():
                state = "revoked" if key.revoked_at else "active"
                self.stdout.write(f"{key.prefix}\t{'admin' if key.is_admin else 'api'}\t{state}\t{key.name}")
        else:
            keys = list(ApiKey.objects.filter(prefix=options["prefix"]))
            if len(keys) != 1:
                raise CommandError(f"{len(keys)} keys have the prefix {options['prefix']!r}; expected exactly one.")
            api_key_revoke(key=keys[0])
            self.stdout.write(f"Revoked {keys[0]}.")
