"""Bar charts drawn on the server as inline SVG, for the back office's dashboard: no script and no file from
anywhere else, so the admin works offline. Colours come from the admin's CSS variables (light and dark
themes alike); every bar links to the list of the rows it counts."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

Number = int | float | Decimal

WIDTH, HEIGHT = 520, 190
LEFT, RIGHT, TOP, BOTTOM = 44, 6, 10, 24
MAX_LABELS = 8  # x-axis labels shown at most; the others are in each bar's tooltip


@dataclass(frozen=True)
class Bar:
    """One category (a day, an hour, a tier): a value per series, the list behind it, and its full name."""

    label: str
    values: tuple[Number, ...]
    href: str = ""
    title: str = ""


@dataclass(frozen=True)
class Chart:
    title: str
    href: str  # the list behind the whole chart
    series: tuple[str, ...]
    bars: tuple[Bar, ...]
    summary: str = ""
    decimals: int = 0  # how values are written (2 for money)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^k at or above `value` (1 for nothing), for the top of the y axis."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def gridlines(top: float, decimals: int) -> tuple[float, ...]:
    """0, the middle and the top; no middle line where it would fall between two whole counts."""
    middle = top / 2
    return (0, top) if decimals == 0 and middle != int(middle) else (0, middle, top)


def number(value: Number, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def _px(value: float) -> str:
    return f"{value:.1f}"


def chart_svg(chart: Chart) -> SafeString:
    """The chart as an <svg> element: side-by-side bars per category, and y gridlines (see gridlines)."""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = nice_ceiling(max((float(v) for bar in chart.bars for v in bar.values), default=0))
    step = plot_width / max(len(chart.bars), 1)
    bar_width = step * 0.8 / max(len(chart.series), 1)
    every = max(1, math.ceil(len(chart.bars) / MAX_LABELS))

    def y(value: float) -> float:
        return TOP + plot_height - plot_height * value / top

    grid = format_html_join("", '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                            '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>',
                            ((LEFT, WIDTH - RIGHT, _px(y(v)), _px(y(v)), LEFT - 4, _px(y(v) + 4),
                              number(v, chart.decimals if v != int(v) else 0)) for v in gridlines(top, chart.decimals)))
    groups = []
    for index, bar in enumerate(chart.bars):
        x0 = LEFT + index * step + step * 0.1
        rects = format_html_join("", '<rect class="chart-series-{}" x="{}" y="{}" width="{}" height="{}"/>',
                                 ((series, _px(x0 + series * bar_width), _px(y(float(value))),
                                   _px(max(bar_width - 1, 1)), _px(TOP + plot_height - y(float(value))))
                                  for series, value in enumerate(bar.values)))
        tooltip = ", ".join(f"{name}: {number(value, chart.decimals)}"
                            for name, value in zip(chart.series, bar.values, strict=True))
        label = (format_html('<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                             _px(LEFT + index * step + step / 2), HEIGHT - 6, bar.label)
                 if index % every == 0 else "")
        # A transparent rectangle over the whole column: small bars stay easy to point at and click.
        hit = format_html('<rect class="chart-hit" x="{}" y="{}" width="{}" height="{}"/>',
                          _px(LEFT + index * step), TOP, _px(step), plot_height)
        body = format_html("<title>{}: {}</title>{}{}{}", bar.title or bar.label, tooltip, rects, hit, label)
        groups.append(format_html('<a class="chart-bar" href="{}">{}</a>', bar.href, body) if bar.href
                      else format_html('<g class="chart-bar">{}</g>', body))
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">'
        "{}{}</svg>", WIDTH, HEIGHT, chart.title, grid, mark_safe("".join(groups)))  # noqa: S308 (built by format_html)


def legend(series: Sequence[str]) -> SafeString:
    return format_html_join("", '<span class="chart-key"><i class="chart-series-{}"></i>{}</span>',
                            enumerate(series))
