"""How long each stage of a run took and how much memory it had used by then: for
``tipkg build --timings`` and the benchmarks (bench/build.py), which report where a build's time
goes rather than one total."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Stage:
    name: str
    seconds: float
    # Peak resident memory so far, in MB: this process, and its largest finished child (a
    # worker process that assembled units).
    peak_mb: float
    peak_child_mb: float


@dataclass
class Timings:
    stages: list[Stage] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stages.append(
                Stage(
                    name,
                    time.perf_counter() - started,
                    _peak_mb(resource.RUSAGE_SELF),
                    _peak_mb(resource.RUSAGE_CHILDREN),
                )
            )

    def table(self) -> str:
        lines = [f"  {'stage':<22} {'seconds':>8} {'peak MB':>8} {'workers':>8}"]
        for stage in self.stages:
            lines.append(
                f"  {stage.name:<22} {stage.seconds:>8.2f} {stage.peak_mb:>8.0f} "
                f"{stage.peak_child_mb:>8.0f}"
            )
        return "\n".join(lines)


@contextmanager
def timed(timings: Timings | None, name: str) -> Iterator[None]:
    """A stage of ``timings``, or nothing when no one is timing."""
    if timings is None:
        yield
        return
    with timings.stage(name):
        yield


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024
