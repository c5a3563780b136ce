"""The benchmark's table: measurements, the targets checked against them, and RESULTS.md."""

from __future__ import annotations

import math
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench_timing import Timing

SECTION = "## Benchmark"


@dataclass(frozen=True)
class Check:
    target: str  # e.g. "≤ 1.25 × page 1 @1k"
    value: str  # e.g. "0.93×"
    passed: bool


@dataclass
class Row:
    label: str
    median: float = math.nan  # ms
    p95: float = math.nan
    count: int = 0
    note: str = ""
    value: str = ""  # shown in the value column when no target is checked
    check: Check | None = None
    heading: bool = False

    @classmethod
    def timed(cls, label: str, timing: Timing) -> Row:
        return cls(label, timing.median, timing.p95, timing.count, note=timing.error)


def _ms(value: float) -> str:
    if math.isnan(value):
        return "—"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    def section(self, title: str) -> None:
        self.rows.append(Row(title, heading=True))

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    @property
    def checks(self) -> list[tuple[Row, Check]]:
        return [(row, row.check) for row in self.rows if row.check is not None]

    def summary(self) -> str:
        passed = sum(check.passed for _, check in self.checks)
        return f"{passed} of {len(self.checks)} targets pass"

    def markdown(self) -> str:
        lines = ["| measurement | n | median ms | p95 ms | target | value | result |",
                 "|---|--:|--:|--:|---|--:|---|"]
        for row in self.rows:
            if row.heading:
                lines.append(f"| **{row.label}** | | | | | | |")
                continue
            label = f"{row.label} ({row.note})" if row.note else row.label
            check = row.check
            cells = [label, str(row.count) if row.count else "—", _ms(row.median), _ms(row.p95),
                     check.target if check else "", check.value if check else row.value,
                     ("PASS" if check.passed else "**FAIL**") if check else ""]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


# --- checks -----------------------------------------------------------------------------------


def ratio_check(row: Row, base: Row, limit: float, base_name: str) -> Check:
    """row's median ≤ limit × base's median."""
    ratio = row.median / base.median if base.median else math.nan
    value = "—" if math.isnan(ratio) else f"{ratio:.2f}×"
    return Check(f"≤ {limit:g} × {base_name}", value, not math.isnan(ratio) and ratio <= limit)


def at_most_ms_check(row: Row, limit_ms: float) -> Check:
    value = "—" if math.isnan(row.median) else f"{row.median:,.1f} ms"
    return Check(f"median ≤ {limit_ms:g} ms", value,
                 not math.isnan(row.median) and row.median <= limit_ms)


def below_check(value: float | None, limit: float, unit: str) -> Check:
    shown = "—" if value is None else f"{value:,.{1 if unit == 's' else 0}f} {unit}"
    return Check(f"< {limit:g} {unit}", shown, value is not None and value < limit)


# --- RESULTS.md -------------------------------------------------------------------------------


def _command_output(*command: str) -> str:
    if shutil.which(command[0]) is None:
        return ""
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    return result.stdout


def machine_description() -> str:
    cores = _command_output("nproc").strip() or "?"
    model = next((line.split(":", 1)[1].strip()
                  for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    memory = next((line.split()[1] for line in _command_output("free", "-g").splitlines()
                   if line.startswith("Mem:")), "?")
    return f"{cores} cores ({model}), {memory} GB memory (`free -g` total)"


def benchmark_section(date: str, machine: str, database: str, command: str, table: str,
                      summary: str, notes: list[str], title: str = SECTION) -> str:
    parts = [title, "", f"- Date: {date}", f"- Machine: {machine}", f"- Database: {database}",
             f"- Command: `{command}`", "", table, "", f"**{summary}.**"]
    if notes:
        parts += ["", *(f"- {note}" for note in notes)]
    return "\n".join(parts) + "\n"


def replace_section(text: str, section: str, title: str = SECTION) -> str:
    """`text` with its `title` section ("## Benchmark") replaced by `section` (appended if
    absent); every other section stays as it is."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == title), None)
    if start is None:
        body = text.rstrip("\n")
        return (body + "\n\n" if body else "") + section
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    after = "".join(lines[end:])
    return "".join(lines[:start]) + section + ("\n" + after if after else "")


def write_results(path: Path, section: str, title: str = SECTION) -> None:
    existing = path.read_text() if path.exists() else "# Scale results\n"
    path.write_text(replace_section(existing, section, title))
