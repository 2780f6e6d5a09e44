"""Search outbox entries for services. Connected with an explicit sender in
RegistryConfig.ready(); the receivers run inside the writer's transaction."""

from search import outbox

from .search_index import SERVICES_INDEX


def service_saved(sender, instance, **kwargs):
    outbox.enqueue(SERVICES_INDEX.name, [instance.pk])


def service_deleted(sender, instance, **kwargs):
    outbox.enqueue(SERVICES_INDEX.name, [instance.pk])
