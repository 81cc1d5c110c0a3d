"""Scheduling priority of the hub's background threads.

Acquisition is paced by the clock and must never wait; block synthesis and spike sorting are
bulk work that can run a little later. On a busy machine the kernel should therefore prefer the
acquisition and streaming threads, so the bulk threads lower their own priority (raising a
thread's nice value needs no privilege; lowering it again would).
"""

from __future__ import annotations

import contextlib
import os
import threading

BACKGROUND_NICENESS = 5


def lower_current_thread_priority(niceness: int = BACKGROUND_NICENESS) -> None:
    """Make the calling thread yield the CPU to the hub's time-critical threads (Linux only).

    Examples
    --------
    >>> lower_current_thread_priority()  # doctest: +SKIP
    """
    setpriority = getattr(os, "setpriority", None)
    if setpriority is None:
        return
    with contextlib.suppress(OSError):
        tid = threading.get_native_id()
        setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), niceness))
