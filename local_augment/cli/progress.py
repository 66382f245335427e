"""The terminal's progress bars for `local-augment augment` (tqdm, on stderr)."""

from __future__ import annotations

import sys
from typing import Any

import click

# the run's own stages; any other name is a model stage inside them (LLM, embed, translate…)
RUN_STAGES = ("generate+score", "dedup", "write")


class BarProgress:
    """Renders the library's progress callback: one bar per run stage (rows), and under it one
    bar for the model stage now running (items, rate, ETA), replaced when the next one starts.
    Notices are printed once each."""

    def __init__(self, enabled: bool, stream: Any = None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.bars: dict[str, Any] = {}
        self.sub: tuple[str, Any] | None = None
        self.noticed: set[str] = set()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage.startswith("notice: "):
            note = stage.removeprefix("notice: ")
            if note not in self.noticed:
                self.noticed.add(note)
                click.secho(note, fg="yellow", file=self.stream)
            return
        if not self.enabled:
            return
        from tqdm import tqdm

        if stage not in RUN_STAGES:
            if self.sub is None or self.sub[0] != stage:
                self._close_sub()
                self.sub = (stage, tqdm(total=total, desc=f"  {stage}", unit="item",
                                        file=self.stream, leave=False, dynamic_ncols=True,
                                        position=1, mininterval=1.0))
            bar = self.sub[1]
        else:
            bar = self.bars.get(stage)
            if bar is None:
                self.close()  # a new run stage: the earlier bars are finished
                bar = self.bars[stage] = tqdm(total=total, desc=stage, unit="row",
                                              file=self.stream, leave=True, dynamic_ncols=True,
                                              position=0)
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    def _close_sub(self) -> None:
        if self.sub is not None:
            self.sub[1].close()
            self.sub = None

    def close(self) -> None:
        self._close_sub()
        for bar in self.bars.values():
            bar.close()
        self.bars = {}
