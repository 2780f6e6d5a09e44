"""Django's SQLite backend with a fair queue for the database's one write lock.

SQLite lets one writer at a time in. A writer that finds the lock taken waits in
SQLite's busy handler, which sleeps 1, 2, 5 … up to 100 ms between tries, so under
load a writer that has waited long keeps losing to newcomers that try at the right
moment: the load test saw writes wait 2 s at the 99th percentile while the median
waited 20 ms. Here a transaction first takes an exclusive `flock` on a file beside the
database (every process and thread that writes through Django, web workers and the
sync worker alike, one open file each), trying every few milliseconds, and only then
sends BEGIN IMMEDIATE, which then finds the lock free. The flock goes at COMMIT or
ROLLBACK, or with the process. Past the connection's `timeout` the transaction goes
ahead without it, and SQLite's own wait decides, as before. Single statements outside a
transaction (autocommit) still meet SQLite's busy handler; they are short.

Threads of one process take turns first, strictly first come first served (_Turns),
and only the thread whose turn it is tries the flock: tries of the file lock are not
ordered, and with every waiting thread trying, the ones that had waited longest
(trying least often) lost to newcomers, so the slowest 1% of writes waited a second
under the load test. Between processes (a few web workers and the sync worker) the
flock is tried at an even pace, so no waiter falls behind a newcomer."""

import collections
import fcntl
import os
import threading
import time

from django.db.backends.sqlite3 import base

from core.observability import timing_add

# Tries for the file lock, by the one thread of a process whose turn it is: every
# millisecond, the same for a waiter that has waited long as for a newcomer.
_TRY_SECONDS = 0.001


class _Turns:
    """A lock that its threads get in the order they asked, or not at all past their
    deadline. The releaser hands it straight to the first waiter."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held = False
        self._waiting: collections.deque[threading.Event] = collections.deque()

    def take(self, timeout: float) -> bool:
        with self._lock:
            if not self._held:
                self._held = True
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(timeout):
            return True
        with self._lock:
            if turn in self._waiting:  # gave up before its turn came
                self._waiting.remove(turn)
                return False
        return True  # handed over just as the wait ended

    def give_back(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()  # still held: now by the next in line
            else:
                self._held = False


# One queue of turns per database file, in this process (a fork starts with none).
_turns: dict[str, _Turns] = {}
_turns_lock = threading.Lock()


def _turns_of(path: str) -> _Turns:
    with _turns_lock:
        return _turns.setdefault(path, _Turns())


os.register_at_fork(after_in_child=_turns.clear)


class DatabaseWrapper(base.DatabaseWrapper):
    _writer_file = None  # this connection's own open file (flock is per open file)
    _writer_locked = False
    _writer_locked_at = 0.0
    _writer_turns = None  # this process's queue of turns, while this connection has the turn

    def _writer_lock_path(self) -> str | None:
        name = str(self.settings_dict["NAME"])
        if self.is_in_memory_db() or not name:
            return None
        return name + ".writer-lock"

    def _take_writer_lock(self) -> None:
        path = self._writer_lock_path()
        if path is None:
            return
        if self._writer_file is None:
            self._writer_file = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        started = time.monotonic()
        deadline = started + float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        try:
            turns = _turns_of(path)
            if not turns.take(deadline - started):
                return  # SQLite's own busy wait decides from here
            self._writer_turns = turns
            while True:
                try:
                    fcntl.flock(self._writer_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self._writer_locked = True
                    self._writer_locked_at = time.monotonic()
                    return
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        return  # SQLite's own busy wait decides from here (the turn is kept until the end)
                    time.sleep(_TRY_SECONDS)
        finally:
            timing_add("lock", time.monotonic() - started)  # the Server-Timing of the load test

    def _release_writer_lock(self) -> None:
        if self._writer_locked:
            self._writer_locked = False
            fcntl.flock(self._writer_file, fcntl.LOCK_UN)
            timing_add("held", time.monotonic() - self._writer_locked_at)
        if self._writer_turns is not None:
            turns, self._writer_turns = self._writer_turns, None
            turns.give_back()

    def _start_transaction_under_autocommit(self):
        self._take_writer_lock()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer_lock()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_writer_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_writer_lock()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_writer_lock()
            if self._writer_file is not None:
                os.close(self._writer_file)
                self._writer_file = None
