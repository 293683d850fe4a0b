"""A progress bar for searches that last: shown on stderr after a second, redrawn by a thread.

A search's stages (group bounds, seed, tasks) can each take long without an update; a thread
redraws the bar every REDRAW seconds so it moves (elapsed time, the stage) even then. Off unless
``enabled`` (the command turns it off for --quiet, --json and when stderr is not a terminal).
"""
from __future__ import annotations

import sys
import threading
import time

DELAY = 1.0    # seconds before a bar appears (shorter searches print nothing)
REDRAW = 0.25  # seconds between redraws


class Progress:
    """Counts of one search (stage, done, total) drawn as a tqdm bar on stderr once it lasts DELAY."""

    def __init__(self, enabled: bool, desc: str, unit: str):
        self.enabled, self.desc, self.unit = enabled, desc, unit
        self.stage, self.done, self.total = "bounds and seed", 0, None
        self._bar = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._thread = None
        if enabled:
            self._thread = threading.Thread(target=self._loop, daemon=True, name="einloop-progress")
            self._thread.start()

    def start(self, total: int, stage: str = "search") -> None:
        """The counted stage begins: ``total`` units to do."""
        with self._lock:
            self.stage, self.done, self.total = stage, 0, total

    def update(self, n: int = 1) -> None:
        """``n`` more units done."""
        with self._lock:
            self.done += n

    def close(self) -> None:
        """Stop redrawing and remove the bar."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None

    def _loop(self) -> None:
        while not self._stop.wait(REDRAW):
            if time.monotonic() - self._started >= DELAY:
                self._draw()

    def _draw(self) -> None:
        with self._lock:
            if self._bar is None:
                from tqdm import tqdm
                self._bar = tqdm(total=self.total, desc=self.desc, unit=self.unit, leave=False, file=sys.stderr,
                                 dynamic_ncols=True)
            self._bar.total = self.total
            self._bar.n = self.done
            self._bar.set_description_str(f"{self.desc} ({self.stage})", refresh=False)
            self._bar.refresh()
