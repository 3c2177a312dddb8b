#!/usr/bin/env python3
"""PyTorch eager and ONNX Runtime side of `funnel bench serve --peer`.

  python3 bench/serve_peer.py --weights DIR/model.safetensors --config '{"embeddingWidth": 16}' \
      [--rows 1,16,100,1000] [--threads 1,2] [--seconds 1.5] [--json]

Builds the MMoE twin (bench/torch_models, the benchmark configuration), loads Funnel's weights from the
checkpoint's safetensors file (parameter names are the state_dict keys), exports it with torch.onnx.export
(probabilities σ(logits), dynamic batch) and times one call per request on rows 0..n of the parity data
(the rows Funnel's ScorerBenchmark scores): PyTorch eager under torch.inference_mode, and an ONNX Runtime
session (CPUExecutionProvider, ORT_ENABLE_ALL, intra-op threads = --threads). Prints one JSON line per
(implementation, rows, threads) with p50/p90/p99 in microseconds, plus the largest |PyTorch − ORT| difference.
"""
import argparse
import json
import os
import struct
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import funnel_synth as fs  # noqa: E402
import torch_models as tm  # noqa: E402

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    """{name: np.ndarray} of a safetensors file (8-byte header length, JSON header, raw little-endian data)."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).copy()
    return tensors


class Probabilities(torch.nn.Module):
    """σ of the twin's per-task logits, [B, T] (what Funnel's Scorer returns for binary tasks)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x_cat, x_dense):
        return torch.sigmoid(tm.mixtures.MMoE.forward(self.model, x_cat, x_dense))


def percentiles(times):
    t = np.array(times) * 1e6
    return {"p50": float(np.percentile(t, 50)), "p90": float(np.percentile(t, 90)), "p99": float(np.percentile(t, 99)), "calls": len(t)}


def timed(fn, seconds):
    for _ in range(5):
        fn()
    times, start = [], time.perf_counter()
    while len(times) < 20 or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return percentiles(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--config", default="{}")
    ap.add_argument("--rows", default="1,16,100,1000")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import onnxruntime as ort

    gen = fs.ParityGenerator(seed=0, n_fields=40, n_dense=10, rho=0.5)
    counts = [int(n) for n in args.rows.split(",")]
    x_cat, x_dense, _, _ = gen.rows(0, max(counts))
    x_cat = torch.from_numpy((x_cat + gen.offsets[None, :]).astype(np.int64))
    x_dense = torch.from_numpy(x_dense.astype(np.float32))
    model = tm.build_model("mmoe", gen.vocab.tolist(), gen.D, tm.TWO_BINARY_TASKS, json.loads(args.config))
    state = {k: torch.from_numpy(v) for k, v in read_safetensors(args.weights).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"weights do not match the twin: missing {missing}, unexpected {unexpected}")
    model.eval()
    wrapper = Probabilities(model).eval()
    onnx_path = os.path.join(tempfile.mkdtemp(prefix="funnel-serve-peer-"), "mmoe.onnx")
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(wrapper, (x_cat[:2], x_dense[:2]), onnx_path, input_names=["x_cat", "x_dense"],
                          output_names=["probabilities"], dynamic_axes={"x_cat": {0: "batch"}, "x_dense": {0: "batch"},
                                                                        "probabilities": {0: "batch"}},
                          opset_version=17, dynamo=False)
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
        for n in counts:
            xc, xd = x_cat[:n], x_dense[:n]
            feeds = {"x_cat": xc.numpy(), "x_dense": xd.numpy()}
            with torch.inference_mode():
                eager = wrapper(xc, xd).numpy()
                torch_cell = timed(lambda: wrapper(xc, xd), args.seconds)
            ort_out = session.run(None, feeds)[0]
            ort_cell = timed(lambda: session.run(None, feeds), args.seconds)
            difference = float(np.abs(eager - ort_out).max())
            for impl, cell in (("pytorch", torch_cell), ("onnxruntime", ort_cell)):
                print(json.dumps({"impl": impl, "rows": n, "threads": threads, "maxAbsDifference": difference, **cell}), flush=True)


if __name__ == "__main__":
    main()
