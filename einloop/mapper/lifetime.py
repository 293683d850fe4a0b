"""Worker processes that never outlive the command, and a hard stop for time-limited searches.

Every pool the mapper makes runs ``worker_init`` first: the worker ignores SIGINT (the parent
handles Ctrl-C once and terminates its pools), asks Linux to SIGKILL it when its parent dies
(prctl PR_SET_PDEATHSIG) and, where that is not available or the parent died before the call,
a watchdog thread ends it within WATCH seconds of its parent's death (getppid() changes).
``hard_stop`` raises TimeUp in the main thread at a given time, so a search stuck in one long
stage (bounds, seed, a worker's task) still answers with what it has.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1   # linux/prctl.h
WATCH = 0.25           # seconds between the watchdog's looks at its parent
REPEAT = 0.1           # seconds between repeated hard stops until the search has stopped
MAX_ALARM = 1e6        # seconds: a stop further away is not armed (the timer's range; the deadline still holds)
STARTUP = 5.0          # seconds: a process older than this runs the command from Python (command_start)


class TimeUp(Exception):
    """The hard stop of a time-limited search: answer with the best found so far."""


class WorkerFailed(RuntimeError):
    """A mapper worker process raised: the command ends (its pools are terminated) with one line."""


def worker_init(parent: int | None = None) -> None:
    """Run first in every mapper worker: ignore SIGINT, die with the parent (``parent``: its pid,
    default the current parent)."""
    parent = os.getppid() if parent is None else parent
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    if os.getppid() != parent:   # the parent died before the request took effect
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="einloop-parent-watch").start()


def _die_with_parent() -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux only; False elsewhere)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    """End this process as soon as its parent is gone (it is re-parented: getppid() changes)."""
    while True:
        time.sleep(WATCH)
        if os.getppid() != parent:
            os._exit(1)


def _raise_time_up(signum, frame):
    raise TimeUp()


@contextlib.contextmanager
def hard_stop(when: float | None):
    """Raise TimeUp in this (main) thread at ``time.time() == when`` and again every REPEAT seconds
    until the block ends (a signal's exception can land where Python ignores it, e.g. in a fork
    hook). Nested blocks keep the earliest stop; without a main thread or SIGALRM it does nothing (the
    searches still check their deadline between steps)."""
    usable = (when is not None and hasattr(signal, "setitimer") and when - time.time() < MAX_ALARM
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return
    left, _ = signal.getitimer(signal.ITIMER_REAL)
    outer = time.time() + left if left > 0 else None
    if outer is not None and outer <= when:   # an enclosing block stops first: leave it armed
        yield
        return
    previous = signal.signal(signal.SIGALRM, _raise_time_up)
    signal.setitimer(signal.ITIMER_REAL, max(1e-3, when - time.time()), REPEAT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer is not None:   # re-arm the enclosing block's stop
            signal.setitimer(signal.ITIMER_REAL, max(1e-3, outer - time.time()), REPEAT)


def stop_time(time_limit: float | None, deadline: float | None) -> float | None:
    """The time.time() a search stops at: ``time_limit`` seconds from now or ``deadline``, the earlier."""
    ends = [t for t in (None if time_limit is None else time.time() + time_limit, deadline) if t is not None]
    return min(ends) if ends else None


def allowance(seconds: float) -> float:
    """How long past its time limit a command may answer: max(1 s, 5%)."""
    return max(1.0, 0.05 * max(seconds, 0.0))


def margins(end: float) -> tuple[float, float]:
    """(the deadline a search works to, its hard stop) for a command that must stop at ``end``: the
    search stops 30% of the allowance early (the answer, the report and the exit take the rest) and is
    stopped hard 20% after (a stage that never checked the clock)."""
    allowed = allowance(end - time.time())
    return end - 0.3 * allowed, end + 0.2 * allowed


def command_start() -> float:
    """When this process started (time.time()), so that a time limit counts from the command's start,
    imports included; now where the system does not say (Linux: /proc), or where the process started
    more than STARTUP seconds ago (the command called from Python: it counts from the call)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            ticks = int(f.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return time.time()
    now, elapsed = time.time(), uptime - ticks / os.sysconf("SC_CLK_TCK")
    return now - elapsed if 0.0 <= elapsed <= STARTUP else now
