"""Worker processes end when the process that started them ends.

A pool's workers (and the fork server that starts them in a threaded host such as the app's server)
would otherwise outlive a killed or crashed parent and keep their memory. On Linux each asks the
kernel for SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``); elsewhere this does nothing.
Pool workers call :func:`die_with_parent` as their initializer; the fork server arms itself by
importing :mod:`sim.analysis.forkserver_guard` through its preload list.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask for SIGTERM when the parent process dies (Linux); a no-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # pragma: no cover - no prctl: nothing to arm
        return
    if os.getppid() == 1:  # the parent died before we asked: stop now
        os._exit(0)

