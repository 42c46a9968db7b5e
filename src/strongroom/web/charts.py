"""Pictures where people would rather look than read, drawn on the server as inline SVG: bars by
category (storage used), bars by day (audit activity) and a timeline of events (a link's accesses).

This module only computes geometry in a fixed coordinate box; templates/charts.html draws it with
attributes and classes (the CSP forbids inline style and script), scaled to the card by its viewBox.
Each chart also carries a one-sentence summary and its numbers, which the template gives to screen
readers and shows as a table below the picture.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

WIDTH = 640
ROW = 34  # one category bar and its gap
PLOT_TOP, PLOT_BOTTOM = 16, 36  # room for the top label and the date ticks under the axis
DAYS_HEIGHT = 220


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    kind: str = ""


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    text: str
    anchor: str = "middle"  # SVG text-anchor: the last label ends at the edge instead of crossing it


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    kind: str
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    summary: str
    rows: list[tuple[str, str]]  # (label, value): the table of numbers under the picture
    bars: list[Bar] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    lanes: list[Tick] = field(default_factory=list)  # a timeline's rows: their names, left
    axis_y: float = 0


def category_bars(rows: Sequence[tuple[str, int]], *, fmt: Callable[[int], str], what: str) -> Chart:
    """Horizontal bars, one per category, longest first; labels left, values right of the bar."""
    ordered = sorted((r for r in rows if r[1] > 0), key=lambda r: -r[1])
    top = max((value for _, value in ordered), default=0)
    label_w, value_w = 150, 110
    span = WIDTH - label_w - value_w
    bars = [
        Bar(
            x=label_w,
            y=i * ROW + 4,
            width=max(2.0, span * value / top) if top else 0,
            height=ROW - 12,
            label=label,
            value=fmt(value),
            kind=f"c{i % 6}",
        )
        for i, (label, value) in enumerate(ordered)
    ]
    total = sum(value for _, value in ordered)
    summary = f"{what} {fmt(total)} in all" + (
        f", most of it {ordered[0][0].lower()} ({fmt(ordered[0][1])})." if ordered else "."
    )
    return Chart(
        width=WIDTH,
        height=max(ROW, len(bars) * ROW),
        summary=summary,
        rows=[(label, fmt(value)) for label, value in ordered],
        bars=bars,
    )


def day_bars(counts: dict[date, int], *, first: date, last: date, what: str) -> Chart:
    """One vertical bar per day from `first` to `last`, with a date under every seventh day."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    top = max((counts.get(d, 0) for d in days), default=0)
    plot_h = DAYS_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    left, step = 40, (WIDTH - 48) / max(1, len(days))
    bars, ticks = [], []
    for i, day in enumerate(days):
        value = counts.get(day, 0)
        height = plot_h * value / top if top else 0
        label = f"{day.day} {day:%b}"
        bars.append(
            Bar(
                x=left + i * step + 1,
                y=PLOT_TOP + plot_h - height,
                width=max(1.0, step - 2),
                height=height,
                label=label,
                value=f"{value:,}",
            )
        )
        if (len(days) - 1 - i) % 7 == 0:
            final = i == len(days) - 1
            x = left + i * step + (step if final else step / 2)
            ticks.append(Tick(x=x, y=DAYS_HEIGHT - 12, text=label, anchor="end" if final else "middle"))
    total = sum(counts.get(d, 0) for d in days)
    busiest = max(days, key=lambda d: counts.get(d, 0)) if days else None
    summary = f"{what}: {total:,} over {len(days)} days"
    if busiest is not None and counts.get(busiest, 0):
        summary += f", most on {busiest.day} {busiest:%B} ({counts[busiest]:,})"
    return Chart(
        width=WIDTH,
        height=DAYS_HEIGHT,
        summary=summary + ".",
        rows=[(b.label, b.value) for b in bars if b.value != "0"],
        bars=bars,
        ticks=[*ticks, Tick(x=left - 6, y=PLOT_TOP + 4, text=f"{top:,}", anchor="end")] if top else ticks,
        axis_y=PLOT_TOP + plot_h,
    )


def timeline(
    events: Sequence[tuple[datetime, str]],
    *,
    lanes: dict[str, str],
    start: datetime,
    end: datetime,
    fmt: Callable[[datetime], str],
) -> Chart:
    """One dot per event on a time axis from `start` to `end`, a row (lane) per kind of event."""
    left, right = 150, WIDTH - 16
    lane_h = 36
    start, end = _utc(start), max(_utc(end), _utc(start) + timedelta(minutes=1))
    span = (end - start).total_seconds()
    kinds = list(lanes)
    dots = []
    for moment, kind in events:
        if kind not in lanes:
            continue
        share = min(1.0, max(0.0, (_utc(moment) - start).total_seconds() / span))
        y = PLOT_TOP + kinds.index(kind) * lane_h + lane_h / 2
        dots.append(
            Dot(x=left + share * (right - left), y=y, kind=kind, label=f"{lanes[kind]}, {fmt(moment)}")
        )
    axis_y = PLOT_TOP + len(kinds) * lane_h
    ticks = [
        Tick(
            x=left + n / 2 * (right - left),
            y=axis_y + 20,
            text=_day(fmt(start + (end - start) * n / 2)),
            anchor=("start", "middle", "end")[n],
        )
        for n in range(3)
    ]
    counted = {kind: sum(1 for _, k in events if k == kind) for kind in kinds}
    summary = ", ".join(f"{lanes[k].lower()} {n:,} time{'s' if n != 1 else ''}" for k, n in counted.items())
    return Chart(
        width=WIDTH,
        height=int(axis_y + PLOT_BOTTOM),
        summary=f"From {fmt(start)} to {fmt(end)}: {summary}.",
        rows=[(lanes[k], f"{n:,}") for k, n in counted.items()],
        dots=dots,
        ticks=ticks,
        lanes=[
            Tick(x=left - 10, y=PLOT_TOP + i * lane_h + lane_h / 2 + 5, text=lanes[k])
            for i, k in enumerate(kinds)
        ],
        axis_y=axis_y,
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _day(moment: str) -> str:
    """ "2 Dec 2026, 01:04 GMT" → "2 Dec 2026": the axis names days, the dots' titles the minute."""
    return moment.split(",", 1)[0]
