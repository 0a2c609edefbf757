"""What a training run tells: log.csv (and TensorBoard when installed), the start header, the
validation line."""

from __future__ import annotations

import csv
import math
from pathlib import Path


class RunLog:
    """log.csv (fixed columns, blanks where a row has no value) and TensorBoard when installed."""

    def __init__(self, path: Path, columns: list[str], resume_step: int | None):
        self.path, self.columns = path, columns
        rows: list[dict] = []
        if resume_step is not None and path.exists():
            # Keep only rows up to the resumed checkpoint: later ones belong to the lost tail.
            with open(path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if r.get("step", "").isdigit() and int(r["step"]) <= resume_step]
        from jitteredge.fileio import atomic_path

        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
        self.file = open(path, "a", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=columns, extrasaction="ignore")
        self.tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(path.parent / "tensorboard"))
        except ImportError:  # tensorboard not installed: CSV only
            pass

    def write(self, row: dict) -> None:
        self.writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        self.file.flush()
        if self.tb is not None:
            for k, v in row.items():
                if k != "step" and isinstance(v, (int, float)) and math.isfinite(v):
                    self.tb.add_scalar(k, v, row["step"])

    def close(self) -> None:
        self.file.close()
        if self.tb is not None:
            self.tb.close()


def start_header(lines: dict[str, str]) -> str:
    """The lines a run prints before its first step: "name: value" each, aligned."""
    width = max(len(k) for k in lines)
    return "\n".join(f"jitteredge train: {k + ':':<{width + 1}} {v}" for k, v in lines.items())


def validation_line(step: int, m: dict) -> str:
    """One line per validation: the score, the EPE of the shake groups against the zero field, the
    false-alarm shares, and the real-photo figures when a manifest is scored."""
    def get(key: str) -> float:
        v = m.get(key)
        return float("nan") if v is None else v

    text = (f"step {step}: score {get('score'):.3f} | EPE strong {get('strong/epe_px'):.3f}/{get('strong/zero_epe_px'):.3f} px"
            f" mild {get('mild/epe_px'):.3f}/{get('mild/zero_epe_px'):.3f} px | shaken pixels"
            f" defocus {100 * get('defocus/shaken_pixel_share'):.2f}% sharp {100 * get('sharp/shaken_pixel_share'):.2f}%")
    if "real/auc" in m:
        text += (f" | real AUC {get('real/auc'):.3f}, recall {100 * get('real/recall'):.0f}%,"
                 f" false alarms sharp {100 * get('real/false_alarm_sharp'):.0f}% defocus {100 * get('real/false_alarm_defocus'):.0f}%")
    return text
