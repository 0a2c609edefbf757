"""How much ``deblur`` restores: PSNR and SSIM against the sharp truth on synthetic samples.

Triples (truth, degraded photo, true field) come from ``synthetic.py`` (BSDS500 test/ by default,
fixed seed) in five groups: strong, mild, curved, sharp, defocus. Methods, all in the same run:

* ``blurred``: the photo as it is;
* ``true field``: ``deblur`` with the field the photo was blurred with (curved: its equivalent
  straight field, which is not exactly the blur); ``..., deconvolution only``: the same without the
  learned refiner (``refiner``), from the same deconvolution;
* ``predicted field``: ``deblur`` with the field the model predicts (``infer.predict_field``), and its
  flat-area mask and threshold, as ``jitteredge deblur`` does (and without the refiner);
* ``uniform kernel``: ``deblur`` with one kernel for the whole photo, the median of the true field
  (signs folded about its dominant direction): what a uniform-blur deconvolution tool would be given;
* ``unsharp mask``: photo + 1.0 x (photo - Gaussian(sigma 1.5 px)), the usual sharpening.

PSNR is over the whole photo in stored values (0-255); SSIM (Wang et al. 2004, Gaussian window of
sigma 1.5) on the grey level.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass

import cv2
import numpy as np

from jitteredge.deblurring.settings import DeblurSettings
from jitteredge.deblurring.synthetic import GROUPS, Triple, make_triples

METHODS = ("blurred", "true field", "true field, deconvolution only", "predicted field",
           "predicted field, deconvolution only", "uniform kernel", "unsharp mask")
UNSHARP_SIGMA_PX = 1.5
UNSHARP_AMOUNT = 1.0


@dataclass
class DeblurEvalConfig:
    model: str = "default"  # registry name or model file for the predicted field
    source: str = "bsds500:test"  # sharp photos (procedural when BSDS500 is absent)
    n: int = 20  # samples per group
    seed: int = 0
    size_px: int = 256
    groups: tuple[str, ...] = GROUPS
    full_scale: bool = True  # the presets' fields as drawn; False: times training's blur scale (many tiny)
    settings: DeblurSettings = DeblurSettings()
    out_dir: str = "jitteredge_eval"  # deblur.md, deblur.json, deblur_samples.png
    picture_groups: tuple[str, ...] = ("strong", "mild", "curved")


def psnr(truth: np.ndarray, image: np.ndarray) -> float:
    mse = float(np.mean((truth.astype(np.float64) - image.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def ssim(truth: np.ndarray, image: np.ndarray) -> float:
    """Mean SSIM of the grey levels (Wang et al. 2004: Gaussian window sigma 1.5, K1 0.01, K2 0.03)."""
    a = cv2.cvtColor(truth, cv2.COLOR_RGB2GRAY).astype(np.float64)
    b = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    g = lambda x: cv2.GaussianBlur(x, (11, 11), 1.5)  # noqa: E731
    ma, mb = g(a), g(b)
    va, vb, cov = g(a * a) - ma * ma, g(b * b) - mb * mb, g(a * b) - ma * mb
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
    return float(s.mean())


def unsharp_mask(photo: np.ndarray) -> np.ndarray:
    x = photo.astype(np.float32)
    sharp = x + UNSHARP_AMOUNT * (x - cv2.GaussianBlur(x, (0, 0), UNSHARP_SIGMA_PX))
    return np.clip(np.rint(sharp), 0, 255).astype(np.uint8)


def uniform_field(field: np.ndarray) -> np.ndarray:
    """The photo-wide median of the field, as a constant field.

    (U, V) and (-U, -V) are the same blur, so each vector is first turned to the side of the field's
    dominant direction (the principal axis of its vectors, a sign-invariant direction): folding to
    U >= 0 instead would split a near-vertical blur into V > 0 and V < 0 and take a median near 0.
    """
    flat = field.reshape(-1, 2).astype(np.float64)
    _, axes = np.linalg.eigh(flat.T @ flat)  # eigenvalues ascending: the last axis is the dominant one
    flat = np.where((flat @ axes[:, -1] < 0)[:, None], -flat, flat)
    out = np.empty_like(field)
    out[...] = np.median(flat, axis=0).astype(np.float32)
    return out


def restore_all(t: Triple, runner, settings: DeblurSettings) -> dict[str, np.ndarray]:
    """Every method's result for one triple."""
    from jitteredge.deblurring.refiner import load_refiner, refine
    from jitteredge.deblurring.restore import changed_mask, deblur, predicted_inputs
    from jitteredge.evidence import blur_evidence
    from jitteredge.infer import predict_field

    evidence = blur_evidence(t.photo, settings.evidence_radius_px, settings.evidence_min_std)
    pred_field, pred_evidence, pred_settings = predicted_inputs(predict_field(runner, t.photo), t.photo.shape[:2], settings)

    def both(field, cfg, ev):
        """(deblur as configured, deblur without its refiner), one deconvolution for the two."""
        deconvolved = deblur(t.photo, field, dataclasses.replace(cfg, refine=False), evidence=ev)
        if not cfg.refine:
            return deconvolved, deconvolved
        net = load_refiner(cfg.refiner or None)
        return (refine(t.photo, deconvolved, field, changed_mask(field, ev, cfg.shaken_px), net=net, tile_px=cfg.tile_px),
                deconvolved)

    true_out, true_deconvolved = both(t.field, settings, evidence)
    pred_out, pred_deconvolved = both(pred_field, pred_settings, pred_evidence)
    return {
        "blurred": t.photo,
        "true field": true_out,
        "true field, deconvolution only": true_deconvolved,
        "predicted field": pred_out,
        "predicted field, deconvolution only": pred_deconvolved,
        "uniform kernel": deblur(t.photo, uniform_field(t.field), settings, evidence=evidence),
        "unsharp mask": unsharp_mask(t.photo),
    }


def _open_source(spec: str, seed: int):
    """``spec`` through ``open_validation_source``: BSDS500 (``bsds500:<split>``, bare: test/) falls back to
    the validation family of procedural photos (never training's); a missing folder is an error."""
    from jitteredge.validation.synthetic import open_validation_source

    text = str(spec)
    if text == "bsds500" or text.startswith("bsds500:"):
        return open_validation_source("bsds500", text.partition(":")[2] or "test", seed)
    return open_validation_source(text, seed=seed)


def evaluate_deblur(cfg: DeblurEvalConfig) -> dict:
    """Run the comparison; write deblur.md, deblur.json and deblur_samples.png to ``cfg.out_dir``; return the report."""
    from tqdm import tqdm

    from jitteredge.fileio import ensure_writable_dir, write_bytes_atomic, write_image_atomic
    from jitteredge.infer import open_runner

    ensure_writable_dir(cfg.out_dir)
    source, source_name = _open_source(cfg.source, cfg.seed)
    start = time.perf_counter()
    rows: dict[str, dict[str, dict]] = {}
    shown = []
    with open_runner(cfg.model, threads=1) as runner:
        for group in cfg.groups:
            scores = {m: {"psnr": [], "ssim": []} for m in METHODS}
            best = None
            for t in tqdm(make_triples(source, group, cfg.n, cfg.seed, cfg.size_px, cfg.full_scale),
                          desc=f"deblur eval {group}", leave=False, disable=None):
                results = restore_all(t, runner, cfg.settings)
                for m, img in results.items():
                    scores[m]["psnr"].append(psnr(t.truth, img))
                    scores[m]["ssim"].append(ssim(t.truth, img))
                blur = float(np.hypot(t.field[..., 0], t.field[..., 1]).mean())
                if group in cfg.picture_groups and (best is None or blur > best[0]):
                    best = (blur, t, results)
            rows[group] = {m: {"psnr_db": round(float(np.mean(v["psnr"])), 3), "ssim": round(float(np.mean(v["ssim"])), 4),
                               "gain_db": round(float(np.mean(v["psnr"]) - np.mean(scores["blurred"]["psnr"])), 3),
                               "samples": len(v["psnr"])} for m, v in scores.items()}
            if best is not None:
                shown.append((group, best[1], best[2]))
    report = {"model": str(cfg.model), "source": source_name, "n": cfg.n, "seed": cfg.seed, "size_px": cfg.size_px,
              "full_scale": cfg.full_scale, "settings": cfg.settings.to_dict(),
              "seconds": round(time.perf_counter() - start, 1), "groups": rows}
    write_bytes_atomic(f"{cfg.out_dir}/deblur.json", (json.dumps(report, indent=2) + "\n").encode())
    write_bytes_atomic(f"{cfg.out_dir}/deblur.md", markdown_table(report).encode())
    if shown:
        write_image_atomic(f"{cfg.out_dir}/deblur_samples.png", samples_picture(shown))
    return report


def markdown_table(report: dict) -> str:
    scale = "preset fields as drawn" if report["full_scale"] else "fields times training's blur scale"
    lines = [f"# jitteredge eval --deblur: {report['model']}", "",
             f"{report['n']} samples per group from {report['source']}, seed {report['seed']}, {report['size_px']} px, "
             f"{scale}; {report['settings']['method']}, {report['settings']['iterations']} iterations; "
             f"{report['seconds']} s.", "",
             "| group | method | PSNR (dB) | gain (dB) | SSIM |", "|---|---|---:|---:|---:|"]
    for group, methods in report["groups"].items():
        for m, r in methods.items():
            lines.append(f"| {group} | {m} | {r['psnr_db']:.2f} | {r['gain_db']:+.2f} | {r['ssim']:.4f} |")
    return "\n".join(lines) + "\n"


def samples_picture(shown: list[tuple[str, Triple, dict[str, np.ndarray]]]) -> np.ndarray:
    """One row per group (its most blurred sample): truth | each method, labelled."""
    out = []
    for group, t, results in shown:
        tiles = [("truth", t.truth)] + [(m, results[m]) for m in METHODS]
        row = []
        for name, img in tiles:
            label = f"{group}: {name}" if name == "truth" else f"{name} {psnr(t.truth, img):.1f} dB"
            strip = np.full((18, img.shape[1], 3), 255, np.uint8)
            cv2.putText(strip, label, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
            row += [np.concatenate([strip, img]), np.full((img.shape[0] + 18, 4, 3), 255, np.uint8)]
        out += [np.concatenate(row[:-1], axis=1), np.full((4, sum(r.shape[1] for r in row[:-1]), 3), 255, np.uint8)]
    return np.concatenate(out[:-1], axis=0)


def main(argv: list[str] | None = None) -> int:
    """``python -m jitteredge.deblurring.quality``: the comparison from the command line."""
    import argparse

    from jitteredge.errors import JitterEdgeError

    d = DeblurEvalConfig()
    p = argparse.ArgumentParser(prog="python -m jitteredge.deblurring.quality", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=d.model, help="registry name or model file for the predicted field")
    p.add_argument("--source", default=d.source, help="sharp photos: bsds500:test, procedural, or a folder")
    p.add_argument("--n", type=int, default=d.n, help="samples per group")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--size", type=int, default=d.size_px, help="sample side, px")
    p.add_argument("--groups", default=",".join(d.groups))
    p.add_argument("--training-scale", action="store_true",
                   help="fields times training's per-sample blur scale (many barely shake) instead of the presets as drawn")
    p.add_argument("--method", default=d.settings.method)
    p.add_argument("--iterations", type=int, default=d.settings.iterations)
    p.add_argument("--strength", type=float, default=d.settings.strength)
    p.add_argument("--no-refine", action="store_true", help="deconvolution only (the refiner's rows equal it)")
    p.add_argument("--refiner", default="", help="refiner weights file (default: the shipped one)")
    p.add_argument("--out", default=d.out_dir, help="folder for deblur.md, deblur.json, deblur_samples.png")
    args = p.parse_args(argv)
    try:
        settings = DeblurSettings(method=args.method, iterations=args.iterations, strength=args.strength,
                                  refine=not args.no_refine, refiner=args.refiner).validate()
        groups = tuple(g.strip() for g in args.groups.split(",") if g.strip())
        unknown = [g for g in groups if g not in GROUPS]
        if unknown:
            raise ValueError(f"unknown group(s) {', '.join(unknown)} (known: {', '.join(GROUPS)})")
        cfg = DeblurEvalConfig(model=args.model, source=args.source, n=args.n, seed=args.seed, size_px=args.size,
                               groups=groups, full_scale=not args.training_scale, settings=settings, out_dir=args.out)
        report = evaluate_deblur(cfg)
    except (JitterEdgeError, ValueError) as exc:
        print(f"jitteredge deblur quality: error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(markdown_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
