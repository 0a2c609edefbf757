"""Text output: the terminal and Markdown table (COLUMNS), the notes under it, the synthesis
figures, and the whole report with environment lines and accuracy-gate failures."""

from __future__ import annotations

from jitteredge.bench.rows import COLUMNS, FAILED_ACCURACY, RAN, BenchResult, BenchRow


def _cell(key: str, value) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        if key.startswith("shaken"):
            return f"{value:.2f}"
        if key.startswith("latency") or key == "epe_px":
            return f"{value:.3f}" if value < 10 else f"{value:.2f}" if value < 100 else f"{value:.1f}"
        return f"{value:.1f}"
    return str(value)


def table_cells(rows: list[dict]) -> list[list[str]]:
    """Formatted cells per row; a row that did not run shows no batch (nothing was measured)."""
    out = []
    for r in rows:
        ran = r.get("status") in (RAN, FAILED_ACCURACY)
        out.append([_cell(k, r.get(k)) if ran or k != "batch" else "-" for k, _ in COLUMNS])
    return out


def format_table(rows: list[BenchRow] | list[dict], markdown: bool = False) -> str:
    """The benchmark table (COLUMNS), aligned text or a Markdown pipe table."""
    dicts = [r.to_dict() if isinstance(r, BenchRow) else r for r in rows]
    header = [title for _, title in COLUMNS]
    body = table_cells(dicts)
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(c[i]) for c in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() for cells in body]
    return "\n".join(lines)


def format_notes(rows: list[BenchRow]) -> list[str]:
    """One line per distinct reason: why a backend could not run, what a row's timing includes."""
    out, seen = [], set()
    for r in rows:
        if r.reason:
            line = f"{r.backend} {r.precision}: {r.status}: {r.reason}" if r.status != RAN else \
                f"{r.backend} {r.precision}: {r.reason}"
            if line not in seen:
                seen.add(line)
                out.append(line)
    return out


def format_synth(synth: list[dict], width: int = 110) -> list[str]:
    """One entry per synthesis measurement: its figures as key=value, wrapped at ``width``."""
    import textwrap

    out = []
    for s in synth:
        if s["status"] != RAN:
            out.append(f"{s['name']}: {s['status']}: {s['reason']}")
            continue
        items = ", ".join(f"{k}={_short(v)}" for k, v in _flatten(s["metrics"]).items())
        out.append("\n    ".join(textwrap.wrap(f"{s['name']}: {items}", width, break_on_hyphens=False)))
    return out


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def format_report(result: BenchResult, markdown: bool = False) -> str:
    """Environment lines, the table, the notes, the synthesis figures and any gate failures."""
    from jitteredge.bench.env import describe

    env_lines = describe(result.environment)
    sections: list[list[str]] = []
    sections.append(["# jitteredge bench", ""] + [f"- {line}" for line in env_lines] if markdown else env_lines)
    if result.rows:
        sections.append([format_table(result.rows, markdown)])
        notes = format_notes(result.rows)
        if notes:
            sections.append([f"- {n}" if markdown else n for n in notes])
    if result.synth:
        sections.append(["## synthesis" if markdown else "synthesis:"]
                        + [f"- {line}" if markdown else f"  {line}" for line in format_synth(result.synth)])
    if result.failures:
        sections.append(["accuracy gate FAILED:"] + [f"- {f}" if markdown else f"  {f}" for f in result.failures])
    return "\n\n".join("\n".join(section) for section in sections) + "\n"
