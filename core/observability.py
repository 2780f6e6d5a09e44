"""Request ids and structured logs.

Every request gets an id: the caller's `X-Request-ID` when it is a sane token, else a
new one. It is answered in the response header, put on every log line of the request
(JSON logs), stored on the interaction log, and sent to the services the assistant
calls, so one id follows a request through every system it touches."""

import contextvars
import json
import logging
import random
import re
import time
import traceback

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def current_request_id() -> str:
    """The id of the request being handled ('' outside a request)."""
    return _request_id.get()


def bind_request_id(value: str) -> contextvars.Token:
    return _request_id.set(value)


# The bits of a version-4 UUID: its version nibble and variant bits over 122 random ones.
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_request_id(incoming: str | None = None) -> str:
    """The caller's id when it is a sane token, else a new one: a random UUID4 as 32 hex
    digits. Its bits come from `random` (seeded from the OS per process, reseeded in a
    forked child), not uuid.uuid4()'s os.urandom: that is a system call that lets go of
    the GIL on every request, and with four threads a worker each time handed the
    interpreter to another thread and waited to get it back (a cached `GET /services`
    on four threads of one process took 10-20% longer for it). An id is a label, not a
    secret (callers send their own)."""
    if incoming and _REQUEST_ID_PATTERN.match(incoming):
        return incoming
    return f"{random.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET:032x}"


class RequestIdMiddleware:
    """Binds the request id for the request's duration and answers it in a header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = new_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id
        token = bind_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


# Attributes every LogRecord has; anything else on a record is an `extra=` field.
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # django.request logs a 500 after the middleware has returned: its record carries
        # the request itself.
        request_id = current_request_id() or getattr(getattr(record, "request", None), "request_id", "")
        if request_id:
            entry["request_id"] = request_id
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRS and not name.startswith("_") and name not in entry and name != "request_id":
                entry[name] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(entry, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    """Puts the request id on every record, for the plain (non-JSON) format."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


# --- where a request's time went (Server-Timing), for the load test -------------------------
#
# With ENSEMBLE_SERVER_TIMING on, each answer carries a `Server-Timing` header (W3C) with
# the milliseconds the request spent waiting for a web thread (from the client's
# `X-Request-Start: t=<unix seconds>`; on one host the clocks agree), connecting to the
# database, in queries, for SQLite's write lock (BEGIN IMMEDIATE), for an outbound
# slot, in outbound exchanges and in Typesense. Off by default: it tells a client how
# the server spends its time.

_timings: contextvars.ContextVar[dict | None] = contextvars.ContextVar("timings", default=None)


def timing_add(name: str, seconds: float) -> None:
    """Add `seconds` to this request's `name` (a no-op outside a timed request)."""
    timings = _timings.get()
    if timings is not None:
        timings[name] = timings.get(name, 0.0) + seconds


def timing_start() -> contextvars.Token:
    return _timings.set({})


def timing_finish(token: contextvars.Token) -> dict:
    timings = _timings.get() or {}
    _timings.reset(token)
    return timings


def request_queue_seconds(request, now: float) -> float | None:
    """Time since the client stamped the request (X-Request-Start: t=<unix seconds>)."""
    raw = request.META.get("HTTP_X_REQUEST_START", "")
    try:
        stamped = float(raw.removeprefix("t="))
    except ValueError:
        return None
    waited = now - stamped
    return waited if 0 <= waited < 3600 else None


def server_timing_header(timings: dict) -> str:
    return ", ".join(f"{name};dur={seconds * 1000:.2f}" for name, seconds in timings.items())
