"""What a benchmark is asked and what it answers: the backend names, row statuses and table
columns, BenchConfig (the settings), BenchRow (one measurement) and BenchResult (all of them).
The other bench modules build on these, so this one imports nothing from its siblings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from jitteredge.errors import JitterEdgeError


BACKENDS = ("torch-cpu", "torch-cuda", "onnx-fp32", "onnx-int8", "ort", "tensorrt")
BACKEND_ALIASES = {"torch": "torch-cpu", "cuda": "torch-cuda", "onnx": "onnx-fp32", "int8": "onnx-int8",
                   "trt": "tensorrt", "engine": "tensorrt"}
SCALING_SIZES = ("256", "512", "720p", "1080p")  # --scaling: how latency grows with resolution
SCALING_THREADS = (1, 2)
SCALING_BATCHES = (1, 4, 8)

# Statuses a row can have.
RAN = "ran"
FAILED_ACCURACY = "failed-accuracy"  # built and ran, but under the accuracy floor
ERROR = "error"  # available, but failed while exporting or running
UNAVAILABLE = "unavailable"  # backend not installed, no device, or no artifact

# (JSON key, column title): the terminal, Markdown and benchmarks/ondevice.py tables use these.
COLUMNS = (
    ("backend", "backend"),
    ("precision", "precision"),
    ("input", "input"),
    ("threads", "threads"),
    ("status", "status"),
    ("latency_p50_ms", "p50 ms"),
    ("latency_p90_ms", "p90 ms"),
    ("latency_p99_ms", "p99 ms"),
    ("throughput_ips", "img/s"),
    ("batch", "batch"),
    ("peak_mem_mb", "mem MB"),
    ("epe_px", "EPE px"),
    ("shaken_defocus", "defocus shaken"),
    ("shaken_sharp", "sharp shaken"),
)


def parse_backends(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """"onnx-fp32,onnx-int8" or a list -> validated backend names (aliases accepted, "all", "none")."""
    items = text.split(",") if isinstance(text, str) else [p for t in text for p in str(t).split(",")]
    out: list[str] = []
    for raw in items:
        name = raw.strip().lower()
        if not name:
            continue
        if name == "all":
            out.extend(b for b in BACKENDS if b not in out)
            continue
        if name == "none":
            continue
        name = BACKEND_ALIASES.get(name, name)
        if name not in BACKENDS:
            raise JitterEdgeError(f"--backends: unknown backend {raw.strip()!r}; choose from {', '.join(BACKENDS)}")
        if name not in out:
            out.append(name)
    return tuple(out)


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


@dataclass
class BenchConfig:
    model: str = "default"  # registry name or .pt checkpoint (torch rows and exports); .onnx also accepted
    # subset of BACKENDS, in table order (aliases, "all", "none" accepted); None: all of them, or none
    # when trtexec logs are given (then only those rows are shown)
    backends: tuple[str, ...] | None = None
    sizes: tuple[str, ...] = ("256",)  # "256" (square), "WxH", "720p", "1080p"; rounded up to multiples of 16
    threads: tuple[int, ...] = (1,)  # CPU intra-op threads; one row per value
    batches: tuple[int, ...] = (8,)  # throughput batch sizes; the row shows the largest
    runs: int = 50  # timed batch-1 calls per latency figure
    warmup: int = 5  # untimed calls first (allocations, autotuning, caches)
    throughput_runs: int = 5  # timed batches per throughput figure
    repeat: int = 1  # measure each row this many times and keep the quietest (lowest p50) repetition
    work_dir: str | None = None  # cache for exported artifacts (None: a temporary folder, removed after)
    onnx: str | None = None  # existing FP32 ONNX model instead of exporting
    int8: str | None = None  # existing INT8 ONNX model
    ort: str | None = None  # existing .ort model
    engine: str | None = None  # existing TensorRT engine (.engine / .plan)
    valset_dir: str | None = None  # validation set written by --export-valset (None: synthesise one)
    val_n: int = 32  # synthesised validation photos (split over the groups)
    val_size_px: int = 128  # their side (multiple of 16)
    val_source: str = "procedural"  # photo source for synthesis (jitteredge.synth.sources)
    val_seed: int = 1234  # fixed, so every run measures accuracy on the same photos
    max_epe: float | None = None  # accuracy floor: mean endpoint error (px) above this fails
    max_defocus_shaken: float | None = None  # floor: share of defocused photos judged shaken
    max_sharp_shaken: float | None = None  # floor: share of sharp photos judged shaken
    cuda_graphs: bool = True  # torch-cuda: replay a captured CUDA graph (static input)
    synth: bool = False  # also run the synthesis speed measurements
    trtexec_logs: tuple[str, ...] = ()  # trtexec outputs turned into rows
    seed: int = 0  # random timing inputs
    progress: bool = True  # tqdm bar on stderr

    @staticmethod
    def file_values(values: dict) -> dict:
        """A config file's forms -> field values: "onnx,int8" or a list for backends, a single value or
        a list for the tuples, numbers for sizes (256 as well as "256")."""
        if isinstance(values.get("backends"), (str, list, tuple)):
            values["backends"] = parse_backends(values["backends"])
        for key in ("sizes", "threads", "batches", "trtexec_logs"):
            if key in values and values[key] is not None:
                values[key] = _as_tuple(values[key])
        if "sizes" in values and values["sizes"] is not None:
            values["sizes"] = tuple(str(v) if isinstance(v, int) and not isinstance(v, bool) else v
                                    for v in values["sizes"])
        return values

    def validate(self) -> "BenchConfig":
        """Refuse values no run can use (one line); returns a copy with the backends resolved."""
        from jitteredge.bench.sizes import parse_size

        backends = self.backends
        if backends is None:
            backends = () if self.trtexec_logs else BACKENDS
        cfg = replace(self, backends=parse_backends(backends), sizes=tuple(str(s) for s in self.sizes))
        if cfg.runs < 1 or cfg.warmup < 0 or cfg.throughput_runs < 1 or cfg.repeat < 1 or not cfg.batches \
                or min(cfg.batches) < 1:
            raise JitterEdgeError("--runs, --repeat, --batch and --throughput-runs must be >= 1, --warmup >= 0")
        if cfg.threads and min(cfg.threads) < 1:
            raise JitterEdgeError("--threads must be >= 1")
        for s in cfg.sizes:
            parse_size(s)
        return cfg


@dataclass
class BenchRow:
    """One backend x precision x input size x threads measurement (JSON keys = field names)."""

    backend: str
    precision: str
    device: str = "cpu"
    status: str = UNAVAILABLE
    reason: str = ""  # why it could not run, failed accuracy, or what is special about it
    artifact: str | None = None
    input: str | None = None  # network input W x H (multiples of 16)
    size_name: str | None = None  # as asked: "256", "720p", "1920x1080"
    input_shape: list[int] | None = None  # batch-1 latency input (N, C, H, W)
    threads: int | None = None
    batch: int | None = None  # throughput batch of throughput_ips
    runs: int | None = None
    warmup: int | None = None
    latency_p50_ms: float | None = None
    latency_p90_ms: float | None = None
    latency_p99_ms: float | None = None
    latency_mean_ms: float | None = None
    latency_min_ms: float | None = None
    throughput_ips: float | None = None  # images per second at ``batch``
    throughput_by_batch: dict[str, float] = field(default_factory=dict)  # batch -> images/s
    peak_mem_mb: float | None = None  # CPU: peak RSS growth; GPU rows: torch.cuda.max_memory_allocated
    rss_delta_mb: float | None = None
    gpu_mem_mb: float | None = None
    epe_px: float | None = None  # mean endpoint error over the validation set (working px)
    epe_by_group: dict[str, float] = field(default_factory=dict)
    shaken_by_group: dict[str, float] = field(default_factory=dict)  # share judged shaken per group
    shaken_defocus: float | None = None
    shaken_sharp: float | None = None
    val_n: int | None = None
    timing: str = ""  # what the latency includes
    source: str = "measured"  # or "trtexec-log"
    kind: str = "model"
    extra: dict = field(default_factory=dict)
    environment: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class BenchResult:
    environment: dict
    rows: list[BenchRow]
    synth: list[dict] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # accuracy-gate violations

    def to_json_rows(self) -> list[dict]:
        """The --json payload: a list of row objects, the environment inside each."""
        out = []
        for row in self.rows:
            d = row.to_dict()
            d["environment"] = d["environment"] or self.environment
            out.append(d)
        for s in self.synth:
            out.append({**s, "environment": self.environment})
        return out
