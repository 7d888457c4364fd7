"""The live dashboard: a workload on its own sandbox, sampled each tick, the figure redrawn.

Threads only where a real server needs them. On a real server each tick really waits out its
interval, so the run has a thread of its own. In fake mode time is virtual and a tick takes a few
milliseconds of Python, so no thread starts: the kernel's event loop runs one tick at a time
between cells (Jupyter, or a browser kernel, which has no threads), and `join()` runs the ticks
left in the foreground.
"""
from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from ..backends import backend_of, sandbox
from ..errors import LabError
from .figure import latency_note, render_png
from .inputs import need_number, need_whole
from .sampler import INTERVAL, Lockstep
from .series import Series
from .traffic import Workload

THREAD_NAME = "entropy-lab-dashboard"


def dashboard_threads() -> list[threading.Thread]:
    """Dashboard threads still alive in this process (should be none after stop)."""
    return [t for t in threading.enumerate() if t.name == THREAD_NAME and t.is_alive()]


def _event_loop() -> asyncio.AbstractEventLoop | None:
    """The kernel's running event loop (Jupyter, a browser kernel), or None (a script, a test)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _check_settings(workload: Any, config: Any, interval: Any, max_ticks: Any, pace: Any, redraw_every: Any) -> None:
    if not isinstance(workload, Workload):
        raise LabError(f"mon.LiveDashboard needs a mon.Workload, not {type(workload).__name__}.")
    if config is not None and not isinstance(config, dict):
        raise LabError(f"the sandbox config is a dict such as dict(maxmemory='4mb'), not {config!r}.")
    need_number(interval, "interval (seconds)", positive=True)
    need_whole(max_ticks, "max_ticks", least=1, none_ok=True)
    need_number(pace, "pace (real seconds per tick)", least=0)
    need_number(redraw_every, "redraw_every (seconds)", least=0)


class LiveDashboard:
    """Runs `workload` on its own sandbox server and redraws the dashboard while it runs.

    `start()` / `stop()` (or the buttons of `widget`) control it; `join()` waits for a run with
    `max_ticks` to end. The sandbox closes when the run ends; after `stop()` or `join()` nothing of
    the run is left (no thread, no server).
    """

    THREAD_NAME = THREAD_NAME

    def __init__(self, workload: Workload, config: dict[str, Any] | None = None, interval: float = INTERVAL,
                 max_ticks: int | None = None, pace: float = 0.05, redraw_every: float = 2.0,
                 title: str = "Live cache dashboard") -> None:
        _check_settings(workload, config, interval, max_ticks, pace, redraw_every)
        self.workload = workload
        self.config = dict(config or {})
        self.interval = interval
        self.max_ticks = max_ticks
        self.pace = pace  # real seconds between ticks in fake mode, so you can watch it move
        self.redraw_every = redraw_every  # real seconds between redraws (a redraw costs ~0.3 s)
        self.title = title
        self.series = Series(name="live")
        self.error: Exception | None = None
        self._run: Lockstep | None = None
        self._sandbox: contextlib.ExitStack | None = None  # open while a run is
        self._fake = True
        self._note = ""
        self._thread: threading.Thread | None = None
        self._pending: asyncio.Handle | None = None  # the next tick on the event loop (fake mode)
        self._stop = threading.Event()
        self._drawn_at = 0.0
        self._widget = None

    @property
    def running(self) -> bool:
        return self._sandbox is not None or (self._thread is not None and self._thread.is_alive())

    def start(self) -> None:
        """Start a new run on a fresh sandbox; does nothing if one is running.

        On a real server the run gets a thread. In fake mode it starts none: the kernel's event loop
        runs the ticks, or, with no loop (a script), they run here and now, which needs `max_ticks`."""
        if self.running:
            return
        self._stop.clear()
        self.series = Series(name="live")
        self.error = None
        if self._open():
            self._status("running")
            self._launch()

    def _launch(self) -> None:
        """Run the opened run: on its own thread (a real server), on the event loop, or here."""
        loop = _event_loop()
        if not self._fake:
            self._thread = threading.Thread(target=self._run_to_end, name=THREAD_NAME, daemon=True)
            self._thread.start()
        elif loop is not None:
            self._pending = loop.call_soon(self._pump, loop)
        elif self.max_ticks is None:
            self._finish()
            raise LabError("without an event loop (outside Jupyter) a fake-mode run happens in the foreground, so "
                           "it needs an end: give the dashboard max_ticks=... (for example 30).")
        else:
            self._run_to_end()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the run: at once in fake mode; on a real server, wait (up to `timeout`) for its thread."""
        self._stop.set()
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
            self._finish()
        self.join(timeout)

    def join(self, timeout: float | None = 120.0) -> None:
        """Wait until the run ends (by `stop()` or after `max_ticks`); in fake mode, run its last ticks now."""
        if self._pending is not None:
            if self.max_ticks is None:
                raise LabError("this run has no max_ticks, so it never ends by itself: call dash.stop().")
            self._pending.cancel()
            self._pending = None
            self._run_to_end()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise LabError("the dashboard thread did not stop in time: call dash.stop() again.")
            self._thread = None
        if self.error is not None:
            raise LabError(f"the dashboard's workload failed: {self.error}")
        self._status(f"stopped after {len(self.series)} samples")

    # -- the run: open, ticks, finish
    def _open(self) -> bool:
        """A fresh sandbox with the workload prewarmed and a baseline sample; False if that failed."""
        stack = contextlib.ExitStack()
        try:
            client = stack.enter_context(sandbox(**self.config))
            self._fake = backend_of(client) == "fake"
            self._note = latency_note(client)
            self._run = Lockstep(client, self.workload, self.interval, name="live")
        except Exception as exc:  # reported by join(), as a failure during the run is
            self._failed(exc)
            self._safely(stack.close)
            return False
        self._sandbox = stack
        self.series = self._run.series
        self._drawn_at = time.monotonic()
        return True

    def _more(self) -> bool:
        return not self._stop.is_set() and (self.max_ticks is None or self._run.ticks < self.max_ticks)

    def _tick(self) -> None:
        self._run.advance()
        if time.monotonic() - self._drawn_at >= self.redraw_every:
            self._draw()

    def _run_to_end(self) -> None:
        """Every tick left, here (a real server's thread, or the foreground in fake mode)."""
        try:
            self._safely(self._ticks_to_end)
        finally:
            self._finish()

    def _ticks_to_end(self) -> None:
        while self._more():
            self._tick()
            if self._fake and self.pace:
                self._stop.wait(self.pace)

    def _pump(self, loop: asyncio.AbstractEventLoop) -> None:
        """One tick on the event loop, then the next one `pace` seconds later."""
        self._pending = None
        if self._sandbox is None:
            return
        self._safely(self._tick)
        if self.error is None and self._more():
            self._pending = loop.call_later(self.pace, self._pump, loop)
        else:
            self._finish()

    def _finish(self) -> None:
        """The last redraw, then close the sandbox (and its server, on a real backend)."""
        stack, self._sandbox = self._sandbox, None
        if stack is None:
            return
        if self.error is None:
            self._safely(self._draw)
        self._safely(stack.close)
        if self.error is None:
            self._status(f"stopped after {len(self.series)} samples")

    def _safely(self, action: Callable[[], None]) -> None:
        """`action()`; a failure is kept for `join()` to report (a thread or an event-loop callback
        must not die silently)."""
        try:
            action()
        except Exception as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        if self.error is None:
            self.error = exc
        self._status(f"failed: {exc}")

    # -- what you see
    def _draw(self) -> None:
        self._drawn_at = time.monotonic()
        if self._widget is not None:
            self._image.value = render_png(self.series, self.title, note=self._note)

    def _status(self, text: str) -> None:
        if self._widget is not None:
            self._label.value = text

    @property
    def widget(self):
        """Start/stop buttons, a status line and the live figure (ipywidgets)."""
        if self._widget is None:
            import ipywidgets as widgets  # about 0.3 s to import: only when a dashboard is shown

            start = widgets.Button(description="Start", icon="play", button_style="success")
            stop = widgets.Button(description="Stop", icon="stop", button_style="danger")
            start.on_click(lambda _: self.start())
            stop.on_click(lambda _: self.stop())
            self._label = widgets.Label("running" if self.running else "ready")
            self._image = widgets.Image(format="png")
            self._widget = widgets.VBox([widgets.HBox([start, stop, self._label]), self._image])
        return self._widget

    def _ipython_display_(self) -> None:
        from IPython.display import display  # only ever called inside IPython

        display(self.widget)
