import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from credentials.selectors import scheme_states
from credentials.services import (
    credential_clear,
    credential_confirm_origin,
    credential_set,
    credentials_rotate_key,
)
from registry.models import Service

ACTOR = "command:service_credential"


class Command(BaseCommand):
    help = ("Set, list or clear the secrets the Ensemble sends to a service, confirm the origin they go to, "
            "re-encrypt them all with the first key.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        put = sub.add_parser("set", help="Store the secret for a security scheme (never on the command line).")
        put.add_argument("service_id")
        put.add_argument("scheme")
        source = put.add_mutually_exclusive_group(required=True)
        source.add_argument("--value-env", metavar="VAR", help="Read the secret from this environment variable.")
        source.add_argument("--value-stdin", action="store_true", help="Read the secret from standard input.")
        listing = sub.add_parser("list", help="Schemes and their state (never the values).")
        listing.add_argument("service_id", nargs="?")
        clear = sub.add_parser("clear", help="Remove the secret for a scheme.")
        clear.add_argument("service_id")
        clear.add_argument("scheme")
        confirm = sub.add_parser("confirm-origin", help=(
            "Let the service's secrets (or one scheme's) go to the origins the service now uses; "
            "until then a secret is held back from any origin nobody confirmed."))
        confirm.add_argument("service_id")
        confirm.add_argument("scheme", nargs="?")
        sub.add_parser("rotate-key", help="Re-encrypt every secret with the first key of ENSEMBLE_CREDENTIALS_KEYS.")

    def _service(self, service_id: str) -> Service:
        service = Service.objects.select_related("spec").filter(pk=service_id).first()
        if service is None:
            raise CommandError(f"No service has the id {service_id!r}.")
        return service

    def handle(self, *args, action, **options):
        try:
            if action == "set":
                self._set(options)
            elif action == "list":
                self._list(options["service_id"])
            elif action == "confirm-origin":
                self._confirm(options["service_id"], options["scheme"])
            elif action == "clear":
                service = self._service(options["service_id"])
                if not credential_clear(service=service, scheme=options["scheme"], actor=ACTOR):
                    raise CommandError(f"{service.id} has no secret for {options['scheme']}.")
                self.stdout.write(f"Cleared the secret of {service.id} for {options['scheme']}.")
            else:
                count = credentials_rotate_key(actor=ACTOR)
                self.stdout.write(f"Re-encrypted {count} secret(s) with the first key.")
        except ApplicationError as error:
            raise CommandError(error.message) from None
        except ImproperlyConfigured as error:  # no or bad ENSEMBLE_CREDENTIALS_KEYS
            raise CommandError(str(error)) from None

    def _set(self, options):
        service = self._service(options["service_id"])
        if options["value_env"]:
            value = os.environ.get(options["value_env"])
            if value is None:
                raise CommandError(f"The environment variable {options['value_env']} is not set.")
        else:
            value = sys.stdin.read()
        credential = credential_set(service=service, scheme=options["scheme"], value=value, actor=ACTOR)
        bound = ", ".join(credential.origins) or "no origin yet (the service has no usable spec or override)"
        self.stdout.write(f"Stored the secret of {service.id} for {options['scheme']} (encrypted), for {bound}.")
        if credential.pending_origins:
            self.stdout.write(f"It also goes to {', '.join(credential.pending_origins)}, which nobody confirmed: it is "
                              f"held back until `manage.py service_credential confirm-origin {service.id} "
                              f"{options['scheme']}`.")

    def _confirm(self, service_id, scheme):
        service = self._service(service_id)
        confirmed = credential_confirm_origin(service=service, scheme=scheme, actor=ACTOR)
        if not confirmed:
            self.stdout.write(f"{service.id} holds no secrets: nothing to confirm.")
        for credential in confirmed:
            self.stdout.write(f"{service.id}\t{credential.scheme}\tconfirmed for {', '.join(credential.origins)}")

    def _list(self, service_id):
        services = [self._service(service_id)] if service_id else Service.objects.select_related("spec").order_by("id")
        for service in services:
            for state in scheme_states(service):
                c = state.credential
                used = f"{c.last_used_at:%Y-%m-%d %H:%M}" if c and c.last_used_at else "never used"
                failed = f"\tlast failure {c.last_failure_at:%Y-%m-%d %H:%M}: {c.last_failure}" if c and c.last_failure_at else ""
                origin = f"\t{state.origin_text}" if c else ""
                self.stdout.write(f"{service.id}\t{state.name}\t{state.state}{origin}\t{used}\t{state.description}{failed}")
