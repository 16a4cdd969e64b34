# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Stratum SRE
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A hard upper bound on a module's run, for client libraries whose calls (discovery, retries) can hang."""

from __future__ import annotations

import contextlib
import signal
from typing import Any, Iterator


class DeadlineExceeded(Exception):
    """The module ran out of its own time; the message says what it was doing."""


class Progress:
    """What the module is doing now, for the message when the deadline fires."""

    def __init__(self, step: str = "starting") -> None:
        self.step = step


@contextlib.contextmanager
def hard_deadline(seconds: float, what: str, progress: Progress | None = None) -> Iterator[Progress]:
    """Raise DeadlineExceeded in the main thread after `seconds` (SIGALRM; modules run single-threaded)."""
    progress = progress or Progress()

    def expire(signum: int, frame: Any) -> None:
        raise DeadlineExceeded(f"{what}: no result within {seconds:g}s (stopped while {progress.step})")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(0.01, seconds))
    try:
        yield progress
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
