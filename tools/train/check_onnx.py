"""Check models/<name>/onnx/model.onnx: onnx.checker, input/output names, and numerics against PyTorch.

Numerics: with onnxruntime if installed; otherwise with the small numpy interpreter below, which covers the ops that
torch.onnx.export (opset 14) emits for this model. Checked: a 5-token prefill from an empty cache, then 2 tokens
with that KV cache (past_sequence_length 5) — logits and presents vs PyTorch, max |diff| < 1e-4.
Usage: check_onnx.py ../../models/lab-target
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from model import Llama, LlamaConfig

DT = {1: np.float32, 6: np.int32, 7: np.int64, 9: np.bool_, 11: np.float64}


def attr(node):
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        out[a.name] = numpy_helper.to_array(v) if isinstance(v, onnx.TensorProto) else v
    return out


def run_numpy(model, feeds):
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env.update(feeds)
    for n in model.graph.node:
        x = [env[i] if i else None for i in n.input]
        A, op = attr(n), n.op_type
        if op == "Constant": r = A["value"]
        elif op == "Identity": r = x[0]
        elif op == "Add": r = x[0] + x[1]
        elif op == "Sub": r = x[0] - x[1]
        elif op == "Mul": r = x[0] * x[1]
        elif op == "Div": r = (x[0] // x[1]) if x[0].dtype.kind == "i" else x[0] / x[1]
        elif op == "Pow": r = np.power(x[0], x[1]).astype(x[0].dtype)
        elif op == "Sqrt": r = np.sqrt(x[0])
        elif op == "Neg": r = -x[0]
        elif op == "Cos": r = np.cos(x[0])
        elif op == "Sin": r = np.sin(x[0])
        elif op == "Sigmoid": r = (1 / (1 + np.exp(-x[0]))).astype(x[0].dtype)
        elif op == "And": r = np.logical_and(x[0], x[1])
        elif op == "Not": r = np.logical_not(x[0])
        elif op == "Equal": r = x[0] == x[1]
        elif op == "LessOrEqual": r = x[0] <= x[1]
        elif op == "Less": r = x[0] < x[1]
        elif op == "Where": r = np.where(x[0], x[1], x[2])
        elif op == "Cast": r = x[0].astype(DT[A["to"]])
        elif op == "MatMul": r = np.matmul(x[0], x[1])
        elif op == "Shape": r = np.array(x[0].shape, dtype=np.int64)
        elif op == "Reshape":
            s = [x[0].shape[i] if d == 0 else d for i, d in enumerate(x[1].tolist())]
            r = x[0].reshape(s)
        elif op == "Transpose": r = np.transpose(x[0], A.get("perm"))
        elif op == "Unsqueeze":
            r = x[0]
            for ax in sorted(int(a) % (x[0].ndim + len(x[1])) for a in x[1]): r = np.expand_dims(r, ax)
        elif op == "Squeeze": r = np.squeeze(x[0], axis=tuple(int(a) for a in x[1]))
        elif op == "Concat": r = np.concatenate(x, axis=A["axis"])
        elif op == "Gather": r = np.take(x[0], x[1], axis=A.get("axis", 0))
        elif op == "ConstantOfShape":
            v = A.get("value", np.zeros(1, np.float32))
            r = np.full(tuple(x[0].tolist()), v.reshape(-1)[0], dtype=v.dtype)
        elif op == "Expand": r = x[0] * np.ones(tuple(x[1].tolist()), dtype=x[0].dtype)
        elif op == "Range": r = np.arange(x[0], x[1], x[2]).astype(x[0].dtype)
        elif op == "ReduceMean": r = x[0].mean(axis=tuple(A["axes"]), keepdims=bool(A.get("keepdims", 1)))
        elif op == "Softmax":
            e = np.exp(x[0] - x[0].max(axis=A.get("axis", -1), keepdims=True))
            r = e / e.sum(axis=A.get("axis", -1), keepdims=True)
        elif op == "Slice":
            sl = [slice(None)] * x[0].ndim
            axes = x[3].tolist() if len(x) > 3 and x[3] is not None else range(len(x[1]))
            steps = x[4].tolist() if len(x) > 4 and x[4] is not None else [1] * len(x[1])
            for s, e, ax, st in zip(x[1].tolist(), x[2].tolist(), axes, steps): sl[ax] = slice(s, e, st)
            r = x[0][tuple(sl)]
        elif op == "Split":
            ax = A.get("axis", 0)
            sizes = x[1].tolist() if len(x) > 1 and x[1] is not None else A.get("split")
            r = np.split(x[0], np.cumsum(sizes)[:-1], axis=ax)
        else:
            raise NotImplementedError(op)
        outs = r if op == "Split" else [r]
        for name, val in zip(n.output, outs):
            env[name] = np.asarray(val)
    return [env[o.name] for o in model.graph.output]


def main():
    folder = sys.argv[1]
    torch.set_num_threads(1)
    with open(os.path.join(folder, "config.json")) as f:
        hf = json.load(f)
    c = LlamaConfig(**{k: hf[k] for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                                          "num_attention_heads", "num_key_value_heads", "max_position_embeddings",
                                          "rms_norm_eps", "rope_theta", "tie_word_embeddings")})
    from export import read_safetensors
    sd = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(os.path.join(folder, "model.safetensors")).items()}
    if c.tie_word_embeddings:
        sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
    pt = Llama(c)
    pt.load_state_dict(sd)
    pt.eval()
    path = os.path.join(folder, "onnx", "model.onnx")
    m = onnx.load(path)
    onnx.checker.check_model(m)
    L = c.num_hidden_layers
    want_in = ["input_ids", "attention_mask", "position_ids"] + [f"past_key_values.{i}.{k}" for i in range(L)
                                                                 for k in ("key", "value")]
    want_out = ["logits"] + [f"present.{i}.{k}" for i in range(L) for k in ("key", "value")]
    assert [i.name for i in m.graph.input] == want_in, [i.name for i in m.graph.input]
    assert [o.name for o in m.graph.output] == want_out
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        run = lambda feeds: sess.run(None, feeds)
        engine = "onnxruntime " + ort.__version__
    except ImportError:
        run = lambda feeds: run_numpy(m, feeds)
        engine = "numpy interpreter (onnxruntime not installed)"
    ids = np.array([[0, 464, 17, 300, 45]], dtype=np.int64) % c.vocab_size
    feeds = {"input_ids": ids, "attention_mask": np.ones((1, 5), np.int64),
             "position_ids": np.arange(5, dtype=np.int64)[None]}
    for i in range(L):
        for k in ("key", "value"):
            feeds[f"past_key_values.{i}.{k}"] = np.zeros((1, c.num_key_value_heads, 0, c.head_dim), np.float32)
    out = run(feeds)
    nxt = np.array([[7, 99]], dtype=np.int64) % c.vocab_size
    feeds2 = {"input_ids": nxt, "attention_mask": np.ones((1, 7), np.int64),
              "position_ids": np.array([[5, 6]], dtype=np.int64)}
    for i in range(L):
        feeds2[f"past_key_values.{i}.key"] = out[1 + 2 * i]
        feeds2[f"past_key_values.{i}.value"] = out[2 + 2 * i]
    out2 = run(feeds2)
    with torch.no_grad():
        full = pt(torch.from_numpy(np.concatenate([ids, nxt], 1)))[0].numpy()
        _, pres = pt(torch.from_numpy(np.concatenate([ids, nxt], 1)), attention_mask=torch.ones(1, 7, dtype=torch.long))
    d1 = np.abs(out[0][0] - full[:5]).max()
    d2 = np.abs(out2[0][0] - full[5:]).max()
    dk = max(np.abs(out2[1 + 2 * i] - pres[i][0].numpy()).max() for i in range(L))
    print(f"{path}: checker ok, names ok; {engine}: prefill max|dlogits| {d1:.2e}, cached decode {d2:.2e}, "
          f"presents {dk:.2e}")
    assert max(d1, d2, dk) < 1e-4


if __name__ == "__main__":
    main()
