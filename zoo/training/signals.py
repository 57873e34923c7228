"""Stop training cleanly on SIGTERM or Ctrl-C (SIGINT): finish the step, checkpoint, say
how to resume."""

import signal
import threading


class StopOnSignal:
    """A context manager, and the `stop_requested(step)` callable of `train_and_evaluate`.

    Inside it, SIGTERM and SIGINT only set a flag; the training loop asks after every
    update and stops there. A second signal is left to the previous handler, so a
    second Ctrl-C still interrupts at once.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.received = threading.Event()
        self.signal_name = None
        self._previous = {}

    def _handle(self, number, frame):
        self.received.set()
        self.signal_name = signal.Signals(number).name
        signal.signal(number, self._previous[number])
        print(f"\n{self.signal_name}: stopping after this step and writing a checkpoint",
              flush=True)

    def __enter__(self):
        for number in self.SIGNALS:
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc):
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def __call__(self, step):
        return self.received.is_set()
