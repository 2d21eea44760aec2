"""Charts as inline SVG, drawn on the server: no script, no external library, readable offline.

Each chart has a title and a description for assistive technology; the dashboard also puts
the same numbers in a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28  # room for the axis labels
MAX_LABELS = 8


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    css_class: str  # colours live in the stylesheet (the page allows no inline style)
    values: Sequence[float | None]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 < value:
        step *= 10
    for factor in (1, 2, 2.5, 5, 10):
        if factor * step >= value:
            return factor * step
    return 10 * step  # pragma: no cover - the loop always returns


def _frame(chart_id: str, title: str, description: str, top: float, labels: Sequence[str], percent: bool,
           body: list[str]) -> Markup:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="{chart_id}-title {chart_id}-desc" preserveAspectRatio="xMidYMid meet">',
             f'<title id="{chart_id}-title">{escape(title)}</title>',
             f'<desc id="{chart_id}-desc">{escape(description)}</desc>']
    for i in range(5):  # horizontal grid lines with their values
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        text = f"{value:.0f}%" if percent else (f"{value:.0f}" if value == int(value) else f"{value:.1f}")
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{text}</text>')
    every = max(1, -(-len(labels) // MAX_LABELS))
    slot = plot_w / max(1, len(labels))
    for i, label in enumerate(labels):
        if i % every == 0:
            x = LEFT + slot * (i + 0.5)
            parts.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                         f"{escape(label)}</text>")
    parts += body
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bars(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    bar = max(2.0, slot * 0.7)
    body: list[str] = []
    for i, label in enumerate(labels):
        base = float(TOP + plot_h)
        for s in series:
            value = s.values[i] or 0
            if value <= 0:
                continue
            h = plot_h * value / top
            x = LEFT + slot * i + (slot - bar) / 2
            body.append(f'<rect class="{s.css_class}" x="{x:.1f}" y="{base - h:.1f}" width="{bar:.1f}" '
                        f'height="{h:.1f}"><title>{escape(label)}: {value:.0f} {escape(s.name)}</title></rect>')
            base -= h
    description = "; ".join(f"{s.name}: {sum(v or 0 for v in s.values):.0f} in total" for s in series)
    return _frame(chart_id, title, description, top, labels, False, body)


def line(chart_id: str, title: str, labels: Sequence[str], series: Series) -> Markup:
    """A percentage line (0–100); gaps where a value is None."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    body: list[str] = []
    run: list[str] = []
    points: list[str] = []

    def flush() -> None:
        if len(run) > 1:
            body.append(f'<polyline class="{series.css_class}" fill="none" points="{" ".join(run)}"/>')
        run.clear()

    for i, value in enumerate(series.values):
        if value is None:
            flush()
            continue
        x = LEFT + slot * (i + 0.5)
        y = TOP + plot_h - plot_h * value
        run.append(f"{x:.1f},{y:.1f}")
        points.append(f'<circle class="{series.css_class}-dot" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                      f"<title>{escape(labels[i])}: {value * 100:.0f}%</title></circle>")
    flush()
    known = [v for v in series.values if v is not None]
    description = (f"{series.name}: from {min(known) * 100:.0f}% to {max(known) * 100:.0f}%" if known
                   else f"{series.name}: no outbound message has reached a final status in this period")
    return _frame(chart_id, title, description, 100, labels, True, body + points)
