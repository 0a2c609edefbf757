"""Result files: the --json rows and --md report (written atomically), and the --plot PNG of
latency and throughput against resolution, threads and batch."""

from __future__ import annotations

import json
import os
from pathlib import Path

from jitteredge.bench.plans import plans_for
from jitteredge.bench.report import format_report
from jitteredge.bench.rows import BACKENDS, FAILED_ACCURACY, RAN, BenchResult, BenchRow
from jitteredge.errors import JitterEdgeError


def write_outputs(result: BenchResult, json_path: str | None = None, md_path: str | None = None) -> None:
    from jitteredge.fileio import write_bytes_atomic

    if json_path:
        write_bytes_atomic(json_path, (json.dumps(result.to_json_rows(), indent=2) + "\n").encode())
    if md_path:
        write_bytes_atomic(md_path, format_report(result, markdown=True).encode())


def plot_scaling(rows: list[BenchRow], path: str | os.PathLike) -> Path:
    """latency p50 vs input pixels, throughput vs threads, throughput vs batch, one line per backend.

    Raises:
        JitterEdgeError: matplotlib is not installed, or nothing ran.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise JitterEdgeError("--plot needs matplotlib (pip install matplotlib)") from None
    from jitteredge.fileio import atomic_path

    ran = [r for r in rows if r.status in (RAN, FAILED_ACCURACY) and r.latency_p50_ms is not None
           and r.source == "measured"]
    if not ran:
        raise JitterEdgeError(f"{path}: nothing ran, nothing to plot")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    order = [(p.backend, p.precision) for p in plans_for(BACKENDS)]
    keys = sorted({(r.backend, r.precision) for r in ran}, key=lambda k: order.index(k) if k in order else len(order))
    min_threads = min((r.threads or 1) for r in ran)
    for backend, precision in keys:
        label = f"{backend} {precision}"
        mine = [r for r in ran if (r.backend, r.precision) == (backend, precision)]
        res = sorted({(r.input_shape[2] * r.input_shape[3], r.latency_p50_ms) for r in mine
                      if (r.threads or 1) == min_threads})
        if res:
            axes[0].plot([p / 1e6 for p, _ in res], [v for _, v in res], marker="o", label=label)
        first_input = mine[0].input
        thr = sorted({(r.threads, r.throughput_ips) for r in mine if r.threads and r.input == first_input})
        if thr:
            axes[1].plot([t for t, _ in thr], [v for _, v in thr], marker="o", label=label)
        base = next((r for r in mine if r.input == first_input and (r.threads or 1) == min_threads), None)
        if base and base.throughput_by_batch:
            bs = sorted((int(b), v) for b, v in base.throughput_by_batch.items())
            axes[2].plot([b for b, _ in bs], [v for _, v in bs], marker="o", label=label)
    axes[0].set(xlabel="input megapixels", ylabel="latency p50 (ms), batch 1",
                title=f"latency vs resolution ({min_threads} thread{'s' if min_threads > 1 else ''})")
    axes[1].set(xlabel="threads", ylabel="images / s", title=f"throughput vs threads ({ran[0].input})")
    axes[2].set(xlabel="batch", ylabel="images / s", title=f"throughput vs batch ({ran[0].input})")
    thread_values = sorted({r.threads for r in ran if r.threads})
    if thread_values:
        axes[1].set_xticks(thread_values)
    batch_values = sorted({int(b) for r in ran for b in r.throughput_by_batch})
    if batch_values:
        axes[2].set_xticks(batch_values)
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return out
