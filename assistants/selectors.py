"""Reads of the assistants app: the services' vocabularies, kept per process while their
version (one small query) is unchanged."""

import threading

from django.db.models import Count, Max

from .grounding.vocabulary import parse_aliases
from .models import ServiceVocabulary

_cache: dict = {"version": None, "aliases": {}}
_lock = threading.Lock()


def service_aliases() -> dict[str, dict[str, list[str]]]:
    """{service id: {the API's word: [words users say for it]}} of every service with a vocabulary."""
    version = tuple(ServiceVocabulary.objects.aggregate(n=Count("pk"), at=Max("updated_at")).values())
    with _lock:
        if _cache["version"] == version:
            return _cache["aliases"]
    aliases = {service_id: parse_aliases(text) for service_id, text in ServiceVocabulary.objects.values_list("service_id", "aliases")}
    with _lock:
        _cache["version"], _cache["aliases"] = version, aliases
    return aliases
