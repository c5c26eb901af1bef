"""Printing results: tables for people, JSON/YAML for scripts, `--json FIELDS` and `--query` on top.

Colour is used only when stdout is a terminal and `NO_COLOR` is not set.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO, cast

import click
import jmespath
import yaml
from jmespath.exceptions import JMESPathError
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from tickets.cli.client import CliError
from tickets.cli.options import invocation
from tickets.cli.terminal import use_colour

Row = Mapping[str, Any]
Cell = str | Text
# Renders data as tables/text on a console; `wide` is True for `-o wide`.
TableRenderer = Callable[[Console, Any, bool], None]

# Wide tables are not cut to the terminal: like `kubectl -o wide`, long lines are expected.
WIDE_WIDTH = 250
COLUMN_GAP = 2
MIN_FLEXIBLE_WIDTH = 10
TRAILING_SPACES = re.compile(r" +\n")

STATUS_STYLES = {
    "open": "green",
    "pending": "yellow",
    "on_hold": "magenta",
    "resolved": "blue",
    "closed": "dim",
}
PRIORITY_STYLES = {"urgent": "bold red", "high": "red", "medium": "yellow", "low": "dim"}


class _TrimmedLines(io.TextIOBase):
    """Passes text on without the padding rich leaves at the end of lines (it only matters in files)."""

    def __init__(self, target: TextIO) -> None:
        self.target = target

    def write(self, text: str) -> int:
        self.target.write(TRAILING_SPACES.sub("\n", text))
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return False


def make_console(wide: bool) -> Console:
    """A console on stdout, in colour on a terminal, as wide as the terminal (wider for `-o wide`)."""
    colour = use_colour(sys.stdout)
    console = Console(
        file=sys.stdout if colour else cast(TextIO, _TrimmedLines(sys.stdout)),
        color_system="auto" if colour else None,
        force_terminal=colour,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
    )
    if wide:
        console.width = max(console.width, WIDE_WIDTH)
    return console


def note(message: str) -> None:
    """A remark for people on stderr (never mixed into the output a script reads)."""
    click.echo(message, err=True)


# ----------------------------------------------------------------------------- machine output


def select_fields(data: Any, fields: Sequence[str]) -> Any:
    """Keep only these fields of an object, or of each object of a list."""
    if not fields:
        return data
    objects = data if isinstance(data, list) else [data]
    known = {key for item in objects if isinstance(item, dict) for key in item}
    unknown = [name for name in fields if known and name not in known]
    if unknown:
        raise CliError(f"unknown field {', '.join(unknown)}; available: {', '.join(sorted(known))}")

    def pick(item: Any) -> Any:
        return {name: item.get(name) for name in fields} if isinstance(item, dict) else item

    return [pick(item) for item in data] if isinstance(data, list) else pick(data)


def apply_query(data: Any, expression: str) -> Any:
    try:
        return jmespath.search(expression, data)
    except JMESPathError as error:
        raise click.UsageError(
            f"--query {expression!r} is not a valid JMESPath expression: {error}"
        ) from error


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def to_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False).rstrip("\n")


def emit(data: Any, render: TableRenderer | None = None) -> None:
    """Print a result in the format the options ask for.

    `--json FIELDS` narrows the data, then `--query` is applied; the result is JSON unless `-o yaml` was
    given. A query that yields a plain string prints it bare (handy in shell scripts).
    """
    options = invocation()
    output = options.output or "table"
    machine = options.json_fields is not None or options.query is not None or output in ("json", "yaml")
    if not machine and render is not None:
        render(make_console(output == "wide"), data, output == "wide")
        return
    if options.json_fields:
        data = select_fields(data, [name.strip() for name in options.json_fields.split(",") if name.strip()])
    if options.query is not None:
        data = apply_query(data, options.query)
        if isinstance(data, str) and output != "yaml":
            click.echo(data)
            return
    click.echo(to_yaml(data) if output == "yaml" and options.json_fields is None else to_json(data))


# ----------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    """A table column: its header and how to get a row's cell."""

    header: str
    cell: Callable[[Row], Cell]
    wide_only: bool = False
    # Shown in plain tables only (not in `-o wide`, nor when one item is shown as fields).
    narrow_only: bool = False
    # The label when one item is shown as `Label: value` lines (default: the header, capitalized).
    label: str | None = None
    # The column that gives up room (ellipsis) when the terminal is narrow.
    flexible: bool = False
    justify: str = "left"


def table(columns: Sequence[Column], empty_message: str) -> TableRenderer:
    """A renderer that prints a list of rows as a borderless, kubectl-like table."""

    def render(console: Console, rows: Any, wide: bool) -> None:
        if not rows:
            note(empty_message)
            return
        print_table(console, rows, [c for c in columns if not (c.narrow_only if wide else c.wide_only)])

    return render


def record(columns: Sequence[Column], markdown: str | None = None) -> TableRenderer:
    """A renderer that prints one item as `Label:  value` lines, with every column but the narrow ones,
    then (if given) its `markdown` field as Markdown."""

    def render(console: Console, row: Any, wide: bool) -> None:
        print_fields(
            console, [(c.label or c.header.capitalize(), c.cell(row)) for c in columns if not c.narrow_only]
        )
        if markdown is not None:
            console.print()
            console.print(Markdown(row[markdown]))

    return render


def said(message: Callable[[Any], str]) -> TableRenderer:
    """A renderer that prints one confirmation line about the result (e.g. `Created tag x.`)."""

    def render(console: Console, data: Any, wide: bool) -> None:
        console.print(message(data))

    return render


def print_table(console: Console, rows: Sequence[Row], columns: Sequence[Column]) -> None:
    """Columns as wide as their content; the flexible one gets what is left of the console's width."""
    cells = [[as_text(column.cell(row)) for column in columns] for row in rows]
    natural = [
        max([len(column.header), *(cell.cell_len for cell in (line[index] for line in cells))])
        for index, column in enumerate(columns)
    ]
    fixed = sum(width for width, column in zip(natural, columns, strict=True) if not column.flexible)
    room = console.width - fixed - COLUMN_GAP * (len(columns) - 1)
    grid = Table(
        box=None, pad_edge=False, show_edge=False, header_style="bold", padding=(0, COLUMN_GAP, 0, 0)
    )
    for width, column in zip(natural, columns, strict=True):
        grid.add_column(
            column.header,
            justify=column.justify,  # type: ignore[arg-type]
            no_wrap=True,
            overflow="ellipsis",
            width=max(min(width, room), MIN_FLEXIBLE_WIDTH) if column.flexible else width,
        )
    for line in cells:
        grid.add_row(*line)
    console.print(grid)


def print_fields(console: Console, pairs: Sequence[tuple[str, Cell]]) -> None:
    """Aligned `Label:  value` lines, as in `kubectl describe`."""
    width = max((len(label) for label, _ in pairs), default=0) + 2
    for label, value in pairs:
        line = Text(f"{label}:".ljust(width), style="bold")
        line.append_text(as_text(value))
        console.print(line)


def as_text(value: Cell | None) -> Text:
    return value if isinstance(value, Text) else Text("" if value is None else str(value))


def styled(value: str | None, styles: Mapping[str, str]) -> Text:
    return Text(value or "", style=styles.get(value or "", ""))


def or_dash(value: Any) -> str:
    return "-" if value in (None, "", []) else str(value)


def short_id(value: Any) -> str:
    """The first 8 characters of a UUID: enough to tell items apart, and accepted as a reference."""
    return str(value)[:8] if value else "-"


# ----------------------------------------------------------------------------- time


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def span(seconds: float) -> str:
    """A short human duration: 45s, 12m, 3h, 5d."""
    seconds = abs(seconds)
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def age(value: str | None) -> str:
    """How long ago a timestamp was: 45s, 12m, 3h, 5d."""
    moment = parse_time(value)
    return "-" if moment is None else span((datetime.now(UTC) - moment).total_seconds())


def relative_time(value: str | None) -> str:
    """How far a timestamp is from now: `3h ago`, `in 59m`."""
    moment = parse_time(value)
    if moment is None:
        return "-"
    seconds = (moment - datetime.now(UTC)).total_seconds()
    return f"in {span(seconds)}" if seconds > 0 else f"{span(seconds)} ago"


# A time written by the server in a text (a timeline entry's summary): RFC 3339 in UTC, to the second.
UTC_TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b")


def local_times(text: str) -> str:
    """The text with each RFC 3339 UTC time in it shown like the other times: local, to the minute."""
    return UTC_TIME.sub(lambda match: local_time(match.group(), relative=False), text)


def local_time(value: str | None, *, relative: bool = True) -> str:
    """A timestamp in the local time zone, to the minute, and (unless told not to) how far from now it is."""
    moment = parse_time(value)
    if moment is None:
        return "-"
    shown = f"{moment.astimezone():%Y-%m-%d %H:%M}"
    return f"{shown} ({relative_time(value)})" if relative else shown
