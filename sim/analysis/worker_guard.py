"""Worker processes end when the process that asked for them ends.

A pool's workers would otherwise outlive a killed or crashed host: each worker holds both ends of
its own task queue, so it never sees the host's end close, and in a threaded host (the app's
server) the fork server stays alive for as long as any worker does. So each worker watches its
host: a daemon thread checks once a second that the host process is still the same one (its pid
and its start time, so a reused pid is not mistaken for it) and ends the worker when it is gone.
Workers never fork, so the thread is harmless; the fork server then sees its last child go and
ends too.
"""

from __future__ import annotations

import os
import threading
import time

CHECK_SECONDS = 1.0


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def watch_host(host: int, started: str | None) -> None:
    """Pool initializer: end this worker when process ``host`` (started at ``started``) is gone."""
    if started is None:  # no /proc: nothing to watch with
        return

    def watch() -> None:
        while True:
            time.sleep(CHECK_SECONDS)
            if start_time(host) != started:
                os._exit(0)

    threading.Thread(target=watch, name="dorasim-host-watch", daemon=True).start()


def host_arguments() -> tuple[int, str | None]:
    """``initargs`` for :func:`watch_host` naming this process as the host."""
    pid = os.getpid()
    return pid, start_time(pid)
