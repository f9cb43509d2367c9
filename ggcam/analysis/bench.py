"""The benchmark figures as data: ``benchmarks/results.json``, written by
``benchmarks/run_all.py`` and read by the book's performance page. This module owns the format.

    {"format": "ggcam-benchmarks/1",
     "machines": {"<id>": {"cpu": "AMD EPYC", "cores": 2, "gpu": "none", "torch": "2.14.1",
                           "note": "shared VM, load ~2.5"}},
     "results": [{"benchmark": "heatmap",        # bench_<benchmark>.py, or a hand-recorded name
                  "table": "",                   # which table of that benchmark ("" = the only one)
                  "title": "Heat map (Algorithm 1)",
                  "machine": "<id>", "date": "2026-11-27", "commit": "c51fbc4 (modified)",
                  "setup": "what was measured, in a sentence or two",
                  "columns": ["resample", "fast (ms)", ...],   # the order to show them in
                  "rows": [{"resample": "area", "fast (ms)": 7.6, ...}],
                  "summary": "targets met, and what the numbers mean (optional)",
                  "source": "benchmarks/bench_heatmap.py"}]}

A column's name carries its unit ("fast (ms)"); values are plain JSON numbers or strings
(null where a figure was not measured). One entry per (benchmark, table, machine): a new run
on the same machine replaces the old entry; other machines' entries stay.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

FORMAT = "ggcam-benchmarks/1"
ENTRY_KEYS = ("benchmark", "table", "title", "machine", "date", "commit", "setup", "columns", "rows")
MACHINE_KEYS = ("cpu", "cores", "gpu", "torch")
MAX_COLUMNS = 7  # a table's columns on a page (book/check_html.py)


def machine_id(cpu: str, cores: int, gpu: str) -> str:
    """A short stable name for a machine: "amd-epyc-2-cores" or "...-nvidia-h200"."""
    words = f"{cpu} {cores} cores" + ("" if gpu in ("", "none", None) else f" {gpu}")
    return re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")


def check(data: dict, where: str = "benchmark results") -> dict:
    """Raise ValueError naming the first thing that does not follow the format; return data."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        got = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"{where}: format must be {FORMAT!r}, got {got!r}")
    machines = data.get("machines")
    if not isinstance(machines, dict):
        raise ValueError(f"{where}: 'machines' must be an object of id → machine")
    for mid, m in machines.items():
        missing = [k for k in MACHINE_KEYS if k not in m]
        if missing:
            raise ValueError(f"{where}: machine {mid!r} lacks {missing}")
    for i, entry in enumerate(data.get("results", [])):
        missing = [k for k in ENTRY_KEYS if k not in entry]
        if missing:
            raise ValueError(f"{where}: result {i} ({entry.get('benchmark')!r}) lacks {missing}")
        if entry["machine"] not in machines:
            raise ValueError(f"{where}: result {i} names machine {entry['machine']!r}, which is "
                             f"not in 'machines' ({sorted(machines)})")
        extra = sorted({k for row in entry["rows"] for k in row} - set(entry["columns"]))
        if extra:
            raise ValueError(f"{where}: result {i} ({entry['benchmark']!r}) has row fields "
                             f"{extra} missing from its 'columns'")
    return data


def empty() -> dict:
    return {"format": FORMAT, "machines": {}, "results": []}


def load(path: str | Path) -> dict:
    """Read and check ``results.json``; an absent file is an empty record."""
    path = Path(path)
    if not path.is_file():
        return empty()
    return check(json.loads(path.read_text()), str(path))


def save(path: str | Path, data: dict) -> None:
    """Write ``data`` (checked), entries sorted by benchmark, table and machine."""
    check(data)
    Path(path).write_text(_dumps(dict(data, results=sorted(data["results"], key=_key))))


def _dumps(data: dict) -> str:
    """JSON with one line per field and per table row, so a diff shows what changed."""

    def one(v) -> str:
        return json.dumps(v, ensure_ascii=False)

    machines = ",\n".join(f"  {one(k)}: {one(v)}" for k, v in data["machines"].items())
    results = []
    for e in data["results"]:
        fields = [f"   {one(k)}: {one(v)}" for k, v in e.items() if k != "rows"]
        rows = ",\n".join(f"    {one(r)}" for r in e["rows"])
        fields.append(f'   "rows": [\n{rows}\n   ]')
        results.append("  {\n" + ",\n".join(fields) + "\n  }")
    return (f'{{\n "format": {one(data["format"])},\n "machines": {{\n{machines}\n }},\n'
            f' "results": [\n' + ",\n".join(results) + "\n ]\n}\n")


def _key(entry: dict) -> tuple:
    return entry["benchmark"], entry["table"], entry["machine"]


def merge(data: dict, machine: dict, entries: list[dict]) -> dict:
    """``data`` with ``machine`` (a dict with "id" and MACHINE_KEYS) and ``entries`` added;
    an entry replaces the one with the same benchmark, table and machine."""
    machine = dict(machine)
    mid = machine.pop("id")
    new = {_key(e) for e in entries}
    kept = [e for e in data["results"] if _key(e) not in new]
    out = {"format": FORMAT, "machines": {**data["machines"], mid: machine},
           "results": kept + list(entries)}
    return check(out)


def frame(entry: dict) -> pd.DataFrame:
    """One result's rows as a DataFrame, columns in the entry's order (absent values NaN)."""
    return pd.DataFrame(entry["rows"], columns=entry["columns"])


def entries(data: dict, benchmark: str) -> list[dict]:
    """The results of one benchmark, all tables and machines, in file order."""
    found = [e for e in data["results"] if e["benchmark"] == benchmark]
    if not found:
        have = sorted({e["benchmark"] for e in data["results"]})
        raise ValueError(f"no results for benchmark {benchmark!r}; there are {have}")
    return found


def reader_text(text: str) -> str:
    """A recorded commit as a reader sees it: "abc1234+dirty" reads "abc1234 (with local changes)"."""
    return text.replace("+dirty", " (with local changes)")


def provenance(data: dict, entry: dict) -> str:
    """"AMD EPYC, 2 cores, no GPU; 2026-11-27, commit c51fbc4" (the machine's torch and note
    are in ``machines_frame``)."""
    m = data["machines"][entry["machine"]]
    gpu = "no GPU" if m["gpu"] in ("", "none", None) else m["gpu"]
    return (f"{m['cpu']}, {m['cores']} cores, {gpu}; {entry['date']}, "
            f"commit {reader_text(entry['commit'])}")


def split_wide(table: pd.DataFrame, max_columns: int = MAX_COLUMNS) -> list[pd.DataFrame]:
    """A table as parts of at most ``max_columns`` columns that fit the book's text column:
    the leading columns that name a row (text or integers, e.g. network, input, batch) repeat
    in every part, the measured columns are shared out evenly in their order."""
    keys = []
    for name in table.columns:
        if pd.api.types.is_float_dtype(table[name]):
            break
        keys.append(name)
    measures = [c for c in table.columns if c not in keys]
    room = max_columns - len(keys)
    if len(table.columns) <= max_columns or room < 1 or not measures:
        return [table]
    parts = -(-len(measures) // room)
    per = -(-len(measures) // parts)
    return [table[keys + measures[k:k + per]] for k in range(0, len(measures), per)]


def machines_frame(data: dict) -> pd.DataFrame:
    """One row per machine: machine (its id), cpu, cores, gpu, torch, note."""
    rows = [{"machine": mid, **{k: m.get(k) for k in (*MACHINE_KEYS, "note")}}
            for mid, m in data["machines"].items()]
    return pd.DataFrame(rows, columns=["machine", *MACHINE_KEYS, "note"])


def show(data: dict, benchmark: str) -> None:
    """Display every table of one benchmark in a notebook: its setup, the table (in parts, when
    it is too wide for the page: ``split_wide``), its summary."""
    from IPython.display import Markdown, display

    from ggcam.viz.report import styled

    for entry in entries(data, benchmark):
        display(Markdown(f"{reader_text(entry['setup'])} *Measured on:* {provenance(data, entry)}."))
        parts = split_wide(frame(entry))
        for k, part in enumerate(parts, 1):
            title = entry["title"] if len(parts) == 1 else f"{entry['title']} ({k} of {len(parts)})"
            display(styled(part, caption=title))
        if entry["summary"]:
            display(Markdown(reader_text(entry["summary"])))


def show_others(data: dict, shown: set[str]) -> None:
    """Display the benchmarks a page does not name (added since it was written)."""
    from IPython.display import Markdown, display

    for name in sorted({e["benchmark"] for e in data["results"]} - set(shown)):
        display(Markdown(f"**Benchmark `{name}`**"))
        show(data, name)
