"""What an interaction may use: the services with usable specs, their operations as
tools, and the system prompt built from them, kept per process while nothing changed.

With a thousand services, loading them and their snapshots on every request would cost
tens of milliseconds; so the scope of the whole registry is kept while `scope_version()`
(the registry's revision and the specs' version, one small statement over those apps'
own tables) says nothing changed, for every worker and instance alike. While some spec is
not usable yet the entry is kept only ENSEMBLE_SPEC_RETRY_SECONDS, so the request path
goes on asking for its fetch."""

import gc
import threading
import time
from dataclasses import dataclass

from django.conf import settings

from prompts.rendering import render_system_prompt
from prompts.selectors import ServiceSpec, catalogue_version, usable_service_specs
from registry.selectors import service_count

from .tools import Tool, build_tools


@dataclass(frozen=True)
class Scope:
    """What one interaction offers the assistant: the services with their specs, their
    operations as tools, and the system prompt."""

    pairs: list[ServiceSpec]
    tools: list[Tool]
    prompt: str


def scope_version() -> tuple:
    """Changes whenever what the assistant may use can change: the registry's revision
    (every service write moves it) and the specs' version (snapshots and policies), in
    one statement (prompts.selectors.catalogue_version)."""
    return catalogue_version()


_scope: dict = {"version": None, "scope": None, "until": 0.0}
_scope_lock = threading.Lock()


def assistant_scope(service_ids=None) -> Scope:
    """The Scope of an interaction (of the whole registry, or of `service_ids` only)."""
    if service_ids is not None:
        return _build_scope(usable_service_specs(service_ids))
    version = scope_version()
    with _scope_lock:
        if version is not None and _scope["version"] == version and time.monotonic() < _scope["until"]:
            return _scope["scope"]
    pairs = usable_service_specs()
    scope = _build_scope(pairs)
    if version[0] is not None:  # no revision row (a test's flushed database): nothing to key on
        complete = len(pairs) == service_count()
        with _scope_lock:
            _scope["version"], _scope["scope"] = version, scope
            _scope["until"] = time.monotonic() + (float("inf") if complete else settings.ENSEMBLE_SPEC_RETRY_SECONDS)
        if len(scope.tools) >= LONG_LIVED_TOOLS:
            keep_out_of_full_collections()
    return scope


def _build_scope(pairs: list[ServiceSpec]) -> Scope:
    return Scope(pairs=pairs, tools=build_tools(pairs),
                 prompt=render_system_prompt(pairs, token_budget=settings.ENSEMBLE_PROMPT_TOKEN_BUDGET))


# --- the garbage collector and a large scope ------------------------------------------------

# A large scope is hundreds of thousands of objects that live until the registry changes.
# Python's full garbage collections walk every one of them, and with 10,000 operations
# one walk took ~150 ms in the middle of some request: the p99 of /interact
# (bench_interact_scale). Frozen, they are skipped; still freed by reference counting.
LONG_LIVED_TOOLS = 1000


def keep_out_of_full_collections() -> None:
    """Freeze what lives now out of the collector's full walks, after freeing the cycles
    of what the previous freeze kept (once per rebuild of a large scope, not per request)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
