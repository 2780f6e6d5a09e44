"""The SQLite engine's queue for the write lock (core/sqlite): threads of one process get
their turn in the order they asked, one at a time, and a thread past its deadline leaves
the queue without holding up the ones behind it."""

import threading
import time

from core.sqlite.base import _Turns


def _queue_up(turns, order, name, timeout=5.0):
    def run():
        if turns.take(timeout):
            order.append(name)
            turns.give_back()
        else:
            order.append(f"{name} gave up")

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_until(condition):
    for _ in range(500):
        if condition():
            return
        time.sleep(0.002)
    raise AssertionError("timed out")


def test_waiting_threads_get_their_turn_in_the_order_they_asked():
    turns, order = _Turns(), []
    assert turns.take(1)
    threads = []
    for number in range(6):
        threads.append(_queue_up(turns, order, number))
        _wait_until(lambda n=number: len(turns._waiting) == n + 1)  # each in line before the next asks
    turns.give_back()
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4, 5]
    assert turns.take(0)  # free again


def test_a_waiter_past_its_deadline_leaves_the_line_and_the_next_gets_the_turn():
    turns, order = _Turns(), []
    assert turns.take(1)
    impatient = _queue_up(turns, order, "impatient", timeout=0.05)
    _wait_until(lambda: len(turns._waiting) == 1)
    patient = _queue_up(turns, order, "patient")
    impatient.join(5)
    assert order == ["impatient gave up"]
    turns.give_back()
    patient.join(5)
    assert order == ["impatient gave up", "patient"]
