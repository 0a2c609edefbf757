"""PyTorch on CUDA: the torch-cuda rows' model wrapper (channels_last, FP32/FP16, one CUDA graph
per input shape), timing with CUDA events, and whether a CUDA device is usable at all."""

from __future__ import annotations

from typing import Callable

import numpy as np

from jitteredge.bench.reasons import first_line, import_reason


class TorchDeviceModel:
    """A JitterNet on a device in channels_last layout, FP32 or FP16, one CUDA graph per input shape.

    Graph capture needs a static input tensor: each shape gets its own input buffer, output buffer
    and graph, captured after warm-up iterations on a side stream (cuDNN autotuning and lazy
    allocations must not happen inside the capture). ``run_device`` copies into the static input
    and replays. Without ``use_graph`` (or on the CPU, used by tests) it calls the module eagerly.

    Args:
        module: a JitterNet (eval mode).
        precision: "fp32" or "fp16" (weights and activations in half precision).
        device: "cuda", "cuda:1", or "cpu".
        use_graph: capture and replay CUDA graphs (CUDA devices only).
    """

    def __init__(self, module, precision: str = "fp32", device: str = "cuda", use_graph: bool = True):
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        self.precision = precision
        self.use_graph = bool(use_graph) and self.device.type == "cuda"
        self.module = module.eval().to(device=self.device, dtype=self.dtype, memory_format=torch.channels_last)
        self.graphs: dict[tuple[int, ...], tuple] = {}

    def to_device(self, x: np.ndarray):
        """float32 (N, 3, H, W) numpy -> device tensor in the model's dtype and channels_last layout."""
        t = self.torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)
        return t.to(self.dtype).contiguous(memory_format=self.torch.channels_last)

    def _graph_for(self, shape: tuple[int, ...]):
        torch = self.torch
        if shape in self.graphs:
            return self.graphs[shape]
        static_in = torch.zeros(shape, device=self.device, dtype=self.dtype).contiguous(
            memory_format=torch.channels_last)
        with torch.no_grad():
            side = torch.cuda.Stream(device=self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                for _ in range(3):
                    self.module(static_in)
            torch.cuda.current_stream(self.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_out = self.module(static_in)
        self.graphs[shape] = (graph, static_in, static_out)
        return self.graphs[shape]

    def run_device(self, x_dev):
        """Device tensor (from to_device) -> device output (N, 2, H, W); asynchronous on CUDA.

        With graphs the returned tensor is the graph's static output, overwritten by the next replay.
        """
        if not self.use_graph:
            with self.torch.no_grad():
                return self.module(x_dev)
        graph, static_in, static_out = self._graph_for(tuple(x_dev.shape))
        static_in.copy_(x_dev)
        graph.replay()
        return static_out

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The runner interface: float32 (N, 3, H, W) -> float32 (N, 2, H, W) code (synchronises)."""
        out = self.run_device(self.to_device(x))
        return np.ascontiguousarray(out.float().cpu().numpy())


def time_cuda(run: Callable[[], object], runs: int, warmup: int, torch_module) -> np.ndarray:
    """Seconds per call measured with CUDA events around each call (GPU time, not host time).

    The events are recorded on the current stream back to back and read after one synchronize, so
    the host never stalls the GPU between calls; warm-up calls run (and finish) first.
    """
    torch = torch_module
    for _ in range(warmup):
        run()
    torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
    for i in range(runs):
        starts[i].record()
        run()
        ends[i].record()
    torch.cuda.synchronize()
    return np.array([s.elapsed_time(e) for s, e in zip(starts, ends)], dtype=np.float64) / 1000.0


def cuda_reason(torch_module=None) -> str | None:
    """None when a CUDA device is usable, else why not."""
    if torch_module is None:
        reason = import_reason("torch")
        if reason:
            return f"torch {reason}"
        import torch as torch_module
    try:
        if not torch_module.cuda.is_available():
            return "no CUDA device"
    except Exception as exc:  # a broken driver
        return f"CUDA unusable ({first_line(exc)})"
    return None
