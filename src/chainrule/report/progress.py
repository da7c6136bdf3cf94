"""What the report is doing and how long is left, one line per part on stderr.

Lines rather than one redrawn bar: the trainer draws its own bar while a model
trains, and lines read well in a CI log too. The time left is the sum of the
estimates of the parts still to run: each part's own time from the last run
when there was one, else the budget's estimate.

>>> import io
>>> out = io.StringIO()
>>> p = Progress({"a": 60.0, "b": 5.0}, stream=out)
>>> p.begin("a", "1.4 baseline network")
>>> p.end("a", 58.2, "ran")
>>> p.begin("b", "1.1 answers")
>>> p.end("b", 0.0, "cached")
>>> print(out.getvalue(), end="")
report: [1/2] 1.4 baseline network (about 1 min 5 s left)
report: [1/2] done in 58.2 s
report: [2/2] 1.1 answers (about 5 s left)
report: [2/2] cached: reused from the last run
"""

from __future__ import annotations

import sys
from typing import TextIO


def duration(seconds: float) -> str:
    """``75`` -> ``1 min 15 s``; whole seconds, minutes only when there are some.

    >>> duration(4.2), duration(75), duration(3600)
    ('4 s', '1 min 15 s', '60 min 0 s')
    """
    whole = max(0, round(seconds))
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


class Progress:
    """Announces each part and the estimated time left; silent when ``enabled`` is false."""

    def __init__(
        self, estimates: dict[str, float], *, stream: TextIO | None = None, enabled: bool = True
    ) -> None:
        self.remaining = dict(estimates)  # part -> estimated seconds, for parts not yet done
        self.order = list(estimates)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled

    def _say(self, text: str) -> None:
        if self.enabled:
            print(f"report: {text}", file=self.stream, flush=True)

    def _position(self, part: str) -> str:
        if part not in self.order:  # a part nobody estimated: count it all the same
            self.order.append(part)
        return f"[{self.order.index(part) + 1}/{len(self.order)}]"

    def begin(self, part: str, title: str) -> None:
        """A part starts (or is looked up in the cache)."""
        left = sum(self.remaining.values())
        self._say(f"{self._position(part)} {title} (about {duration(left)} left)")

    def expect_cached(self, part: str) -> None:
        """The part will come from the cache: take it out of the time left."""
        self.remaining[part] = 0.0

    def end(self, part: str, seconds: float, status: str) -> None:
        """A part finished: ``status`` is "ran", "cached" or "failed"."""
        self.remaining.pop(part, None)
        if status == "cached":
            self._say(f"{self._position(part)} cached: reused from the last run")
        elif status == "failed":
            self._say(f"{self._position(part)} FAILED after {seconds:.1f} s (see the report)")
        else:
            self._say(f"{self._position(part)} done in {seconds:.1f} s")

    def note(self, text: str) -> None:
        """Any other line (e.g. where the files were written)."""
        self._say(text)
