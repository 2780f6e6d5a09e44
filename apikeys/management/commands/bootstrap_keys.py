from django.core.management.base import BaseCommand, CommandError

from apikeys.services import api_keys_bootstrap_from_settings
from core.errors import ApplicationError


class Command(BaseCommand):
    help = "Store ENSEMBLE_API_KEY and ENSEMBLE_ADMIN_API_KEY (if set) as hashed keys. Idempotent."

    def handle(self, *args, **options):
        try:
            created = api_keys_bootstrap_from_settings()
        except ApplicationError as error:
            raise CommandError(error.message) from error
        for name in created:
            self.stdout.write(f"Stored key '{name}'.")
