"""The one race helper of the suite: start N callables on N threads, each with its own
database connection, released together by a barrier; collect what each returned or raised.
And `wait_for`: poll a condition another thread or process will make true.

Tests that use it need `django_db(transaction=True)`: a thread's connection sees only what
is committed, exactly like a second web worker.
"""

import threading
import time

from django.db import connection


def race(calls, *, timeout=30):
    """Run each callable in its own thread, all released at once; returns, in the order of
    `calls`, each one's result or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc
        finally:
            # Django opened a connection for this thread: close it, or the test database
            # cannot be flushed or dropped at the end.
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    stuck = sum(thread.is_alive() for thread in threads)
    assert not stuck, f"{stuck} of {len(calls)} racers still running after {timeout} s"
    return results


def in_other_connection(call):
    """Run `call` on another thread with its own connection (what another process sees now:
    only committed rows); returns its result, raises what it raised."""
    (result,) = race([call])
    if isinstance(result, Exception):
        raise result
    return result


def wait_for(condition, seconds=3.0, every=0.005):
    """True as soon as `condition()` is, False after `seconds` (polled every `every` s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False
