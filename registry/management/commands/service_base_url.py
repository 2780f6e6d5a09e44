from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from registry.models import Service
from registry.services import service_base_url_set

ACTOR = "command:service_base_url"


class Command(BaseCommand):
    help = (
        "Show, set or remove a service's base-URL override: its calls go there instead of its spec's servers "
        "(a local or another environment's instance). Its secrets wait until an admin confirms the new origin "
        "(manage.py service_credential confirm-origin)."
    )

    def add_arguments(self, parser):
        parser.add_argument("service_id")
        what = parser.add_mutually_exclusive_group()
        what.add_argument("url", nargs="?", help="The base URL, e.g. http://127.0.0.1:9000/api (paths are appended).")
        what.add_argument("--clear", action="store_true", help="Remove the override: the spec's servers again.")

    def handle(self, *args, service_id, url, clear, **options):
        service = Service.objects.filter(pk=service_id).first()
        if service is None:
            raise CommandError(f"No service has the id {service_id!r}.")
        if url is None and not clear:
            self.stdout.write(service.base_url_override or "(no override: the spec's servers)")
            return
        try:
            saved = service_base_url_set(service_id=service_id, base_url="" if clear else url, actor=ACTOR)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        except ApplicationError as error:
            raise CommandError(error.message) from None
        if saved.base_url_override:
            self.stdout.write(f"{service_id} now calls {saved.base_url_override}.")
        else:
            self.stdout.write(f"{service_id} calls its spec's servers again.")
        self.stdout.write("If it holds secrets for another origin, they are held back until an admin confirms: "
                          f"manage.py service_credential confirm-origin {service_id}")
