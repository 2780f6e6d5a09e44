from django.core.management.base import BaseCommand, CommandError

from prompts.services import spec_refresh
from registry.models import Service


class Command(BaseCommand):
    help = "Fetch the OpenAPI documents of all services (or the given ids) into their snapshots."

    def add_arguments(self, parser):
        parser.add_argument("service_ids", nargs="*")
        parser.add_argument("--force", action="store_true", help="Ignore ETag/Last-Modified.")

    def handle(self, *args, service_ids, force, **options):
        services = Service.objects.order_by("id")
        if service_ids:
            services = services.filter(pk__in=service_ids)
            missing = set(service_ids) - set(services.values_list("pk", flat=True))
            if missing:
                raise CommandError(f"Unknown service ids: {', '.join(sorted(missing))}")
        failures = 0
        for service in services:
            snapshot = spec_refresh(service=service, force=force)
            if snapshot.error:
                failures += 1
                self.stdout.write(f"{service.id}: ERROR {snapshot.error}")
            else:
                self.stdout.write(f"{service.id}: {len(snapshot.operations)} operations ({snapshot.title})")
        if failures:
            raise CommandError(f"{failures} spec(s) could not be fetched or parsed.")
