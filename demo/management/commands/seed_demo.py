from django.core.management.base import BaseCommand

from assistants.services import vocabulary_set
from prompts.services import spec_refresh
from registry import services
from registry.models import Service

DEMO = [
    ("character-service", "Character Service", "Keeps the characters of a story.", "character", ["core", "demo"]),
    ("action-service", "Action Service", "Records the actions characters perform.", "action", ["core", "demo"]),
]
# The words users say for the demo services' things: data an admin edits on each
# service's page (the offline assistant reads them; its code knows no service's words).
VOCABULARY = {
    "character-service": "character: person, role, figure",
    # "what has she done so far?" asks for her actions: "done" is this service's word for them.
    "action-service": "action: beat, stage direction, stage business, deed, done",
}


class Command(BaseCommand):
    help = "Register the demo services (demo/server.py) and fetch their specs. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8101")

    def handle(self, *args, base_url, **options):
        for service_id, name, description, prefix, tags in DEMO:
            fields = {"name": name, "description": description, "openapi_url": f"{base_url}/{prefix}/openapi.yml", "tags": tags}
            if Service.objects.filter(pk=service_id).exists():
                service = services.service_update(service_id=service_id, **fields, actor="command:seed_demo")
            else:
                service = services.service_register(id=service_id, **fields, actor="command:seed_demo")
            vocabulary_set(service=service, aliases=VOCABULARY.get(service_id, ""), actor="command:seed_demo")
            snapshot = spec_refresh(service=service)
            state = snapshot.error or f"{len(snapshot.operations)} operations"
            self.stdout.write(f"{service_id}: {state}")
