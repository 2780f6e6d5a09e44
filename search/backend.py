"""The one place that talks to Typesense. It knows collections, aliases and documents;
it never sees a Django model.

Errors are reduced to two kinds: `SearchUnavailable` (Typesense down, timing out or
answering 5xx: try again later, the data is fine) and `SearchRejected` (Typesense
refused a request: something about it is wrong). The client's own retries are back to
back and cover milliseconds, so they are off: the worker's backoff handles outages.
"""

import json
import threading
import time
from urllib.parse import quote, urlsplit

import orjson
import typesense
from django.conf import settings
from typesense import exceptions as ts_errors

from core.observability import timing_add

_REJECTIONS = (
    ts_errors.RequestMalformed,
    ts_errors.RequestUnauthorized,
    ts_errors.RequestForbidden,
    ts_errors.ObjectAlreadyExists,
    ts_errors.ObjectUnprocessable,
    ts_errors.InvalidParameter,
)


class SearchError(Exception):
    pass


class SearchUnavailable(SearchError):
    """Typesense could not be reached or failed; the same request may work later."""


class SearchRejected(SearchError):
    """Typesense answered that the request itself is wrong."""


class SearchNotFound(SearchRejected):
    pass


def encode_document(document: dict) -> bytes:
    """One document as a JSON line (without its newline), for an import. orjson, not
    json: a resync encodes every row, and json.dumps was a third of its time."""
    try:
        return orjson.dumps(document)
    except TypeError:  # what orjson refuses (a lone surrogate, a key that is not text): as json does
        return json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")


def join_jsonl(lines: list[bytes]) -> str:
    """Encoded documents (encode_document) as the body of one import."""
    return b"\n".join(lines).decode("utf-8", "surrogatepass")


def encode_jsonl(documents: list[dict]) -> str:
    """Documents as JSON lines, for an import."""
    return join_jsonl([encode_document(document) for document in documents])


def _translate(error: Exception) -> SearchError:
    if isinstance(error, ts_errors.ObjectNotFound):
        return SearchNotFound(str(error))
    if isinstance(error, _REJECTIONS):
        return SearchRejected(f"{type(error).__name__}: {error}")
    return SearchUnavailable(f"{type(error).__name__}: {error}")


def _node(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"TYPESENSE_URLS holds {url!r}, which is not an http(s) URL")
    return {
        "host": parts.hostname,
        "port": str(parts.port or (443 if parts.scheme == "https" else 80)),
        "protocol": parts.scheme,
        "path": parts.path.rstrip("/"),
    }


class TypesenseBackend:
    def __init__(self, *, urls: list[str], api_key: str, timeout: float, prefix: str):
        self.prefix = prefix
        self.client = typesense.Client(
            {
                "nodes": [_node(url) for url in urls],
                "api_key": api_key,
                "connection_timeout_seconds": timeout,
                "num_retries": 0 if len(urls) == 1 else len(urls),
                "retry_interval_seconds": 0.05,
                "healthcheck_interval_seconds": 2,
            }
        )

    def _call(self, function, *args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        except SearchError:
            raise
        except Exception as error:  # the client raises httpx and its own errors
            raise _translate(error) from error
        finally:
            timing_add("typesense", time.perf_counter() - started)

    # --- names -------------------------------------------------------------------
    def alias_name(self, index: str) -> str:
        return f"{self.prefix}{index}"

    def collection_name(self, index: str, schema_version: int, generation: str = "") -> str:
        suffix = f"_{generation}" if generation else ""
        return f"{self.prefix}{index}_v{schema_version}{suffix}"

    # --- server ------------------------------------------------------------------------
    def healthy(self) -> bool:
        try:
            return bool(self._call(self.client.operations.is_healthy))
        except SearchError:
            return False

    # --- collections and aliases -------------------------------------------------------
    def alias_target(self, alias: str) -> str | None:
        try:
            return self._call(self.client.aliases[alias].retrieve)["collection_name"]
        except SearchNotFound:
            return None

    def point_alias(self, alias: str, collection: str) -> None:
        self._call(self.client.aliases.upsert, alias, {"collection_name": collection})

    def collection_exists(self, name: str) -> bool:
        try:
            self._call(self.client.collections[name].retrieve)
            return True
        except SearchNotFound:
            return False

    def create_collection(self, schema: dict) -> None:
        self._call(self.client.collections.create, schema)

    def drop_collection(self, name: str) -> None:
        try:
            self._call(self.client.collections[name].delete)
        except SearchNotFound:
            pass

    def list_collections(self) -> list[str]:
        return [c["name"] for c in self._call(self.client.collections.retrieve)]

    def count(self, collection: str) -> int:
        return int(self._call(self.client.collections[collection].retrieve)["num_documents"])

    # --- documents ---------------------------------------------------------------------
    def upsert_many(self, collection: str, documents: list[dict]) -> dict[str, str | None]:
        """Upsert in one import; returns {id: None on success, or the error text}."""
        if not documents:
            return {}
        return self.upsert_encoded(collection, [doc["id"] for doc in documents], encode_jsonl(documents))

    def upsert_encoded(self, collection: str, ids: list[str], jsonl: str) -> dict[str, str | None]:
        """Upsert documents already encoded as JSON lines (`ids`: theirs, in order) in one
        import; returns {id: None on success, or the error text}. An import answers 200
        even when some documents fail, so each line is read."""
        if not ids:
            return {}
        text = self._call(self.client.collections[collection].documents.import_, jsonl, {"action": "upsert"})
        # A document without a result line counts as failed (and is retried), never as done.
        outcome: dict[str, str | None] = {object_id: "Typesense returned no result for this document" for object_id in ids}
        for object_id, line in zip(ids, text.splitlines(), strict=False):
            result = orjson.loads(line)
            outcome[object_id] = None if result.get("success") else str(result.get("error", "import failed"))
        return outcome

    def delete_one(self, collection: str, document_id: str) -> None:
        """Delete a document; a missing one counts as deleted (0.24 answers 404)."""
        try:
            # The client puts the id in the URL as it is: quote it (operation ids may hold '/').
            self._call(self.client.collections[collection].documents[quote(document_id, safe="")].delete)
        except SearchNotFound:
            pass

    def export_fields(self, collection: str, fields: list[str]):
        """Yield every document of `collection` with only `fields` (JSON lines)."""
        text = self._call(self.client.collections[collection].documents.export, {"include_fields": ",".join(fields)})
        for line in text.splitlines():
            if line.strip():
                yield json.loads(line)

    def search(self, collection: str, params: dict) -> dict:
        return self._call(self.client.collections[collection].documents.search, params)


    def multi_search(self, searches: list[dict], common: dict | None = None) -> list[dict]:
        """Several searches in one request; a failed one raises like a single search."""
        answer = self._call(self.client.multi_search.perform, {"searches": searches}, common or {})
        results = answer["results"]
        for result in results:
            if "error" in result:
                code = int(result.get("code", 400))
                error = SearchUnavailable if code >= 500 else SearchNotFound if code == 404 else SearchRejected
                raise error(f"{code}: {result['error']}")
        return results


_local = threading.local()


def get_backend() -> TypesenseBackend:
    """One backend per thread, built from settings (rebuilt when they change in tests)."""
    key = (tuple(settings.TYPESENSE_URLS), settings.TYPESENSE_API_KEY, settings.TYPESENSE_CONNECTION_TIMEOUT, settings.TYPESENSE_COLLECTION_PREFIX)
    cached = getattr(_local, "backend", None)
    if cached is None or cached[0] != key:
        backend = TypesenseBackend(
            urls=list(key[0]), api_key=key[1], timeout=key[2], prefix=key[3]
        )
        _local.backend = (key, backend)
        return backend
    return cached[1]
