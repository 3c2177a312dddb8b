#!/usr/bin/env python3
"""ONNX Runtime side of Funnel's ONNX export check (Tests/FunnelTrainTests/ONNXExportTests.swift).

usage: onnx_check.py CASE_DIR [CASE_DIR ...]

Each CASE_DIR holds model.onnx, inputs/<graph input>.npy and expected/<graph output>.npy (Funnel's own
predictions, as `funnel predict` computes them). For each case: onnx.checker.check_model(full_check=True), an
ONNX Runtime session on the inputs, and the maximum absolute difference per output. Prints one JSON object:
{case: {"ops": [...], "rows": n, "max_abs_diff": {output: d}}} or {case: {"error": "..."}}.
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort


def check(case):
    model = onnx.load(os.path.join(case, "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feeds = {i.name: np.load(os.path.join(case, "inputs", i.name + ".npy")) for i in session.get_inputs()}
    names = [o.name for o in session.get_outputs()]
    results = dict(zip(names, session.run(names, feeds)))
    diffs = {}
    for name in names:
        path = os.path.join(case, "expected", name + ".npy")
        if os.path.exists(path):
            expected = np.load(path)
            if results[name].shape != expected.shape:
                raise ValueError(f"output {name}: shape {results[name].shape}, expected {expected.shape}")
            diffs[name] = float(np.max(np.abs(results[name].astype(np.float64) - expected.astype(np.float64))))
    rows = int(next(iter(feeds.values())).shape[0])
    return {"ops": sorted({node.op_type for node in model.graph.node}), "rows": rows, "max_abs_diff": diffs}


def main():
    report = {}
    for case in sys.argv[1:]:
        try:
            report[os.path.basename(case)] = check(case)
        except Exception as error:  # one failing model must not hide the others' results
            report[os.path.basename(case)] = {"error": f"{type(error).__name__}: {error}"}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
