"""Stage 6: models/manifest.json, models/training-curve.svg, runs/samples.json and docs/MODELS.md (generated).

Reads what the earlier stages left: models/lab-*/reference.json, runs/target/log.jsonl + summary.json,
runs/draft/agreement.json, runs/times.json (stage wall times written by train_all.sh, optional).
"""
import json
import os

import torch

from common import MODELS, ROOT, RUNS, load_tokenizer, write_json
from export import load_ckpt

CMD = "tools/train/train_all.sh"
PROMPTS = ["ROMEO:\nBut soft, what light", "First Citizen:\n"]


def read_json(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


@torch.no_grad()
def generate(model, ids, n, temperature, seed):
    g = torch.Generator().manual_seed(seed)
    seq = list(ids)
    ctx = model.config.max_position_embeddings
    for _ in range(n):
        logits = model(torch.tensor([seq[-ctx:]]))[0, -1]
        if temperature == 0:
            nxt = int(logits.argmax())
        else:
            nxt = int(torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=g))
        seq.append(nxt)
    return seq[len(ids):]


def svg_curve(log, path, w=640, h=360):
    """Hand-written SVG: smoothed training loss and held-out loss (nats/token) vs step."""
    steps = [r["step"] for r in log]
    tr = [r["train_loss_smooth"] for r in log]
    he = [r["heldout"]["nll_per_token"] for r in log]
    lo, hi = min(tr + he) - 0.1, max(tr + he) + 0.1
    X = lambda s: 50 + (w - 70) * s / max(steps)
    Y = lambda v: 20 + (h - 60) * (hi - v) / (hi - lo)
    line = lambda vals, col: ('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' %
                              (col, " ".join(f"{X(s):.1f},{Y(v):.1f}" for s, v in zip(steps, vals))))
    ticks = "".join(f'<text x="5" y="{Y(v) + 4:.1f}" font-size="11">{v:.2f}</text>'
                    f'<line x1="45" x2="{w - 20}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" stroke="#ddd"/>'
                    for v in [lo + (hi - lo) * i / 5 for i in range(6)])
    xt = "".join(f'<text x="{X(s) - 10:.1f}" y="{h - 22}" font-size="11">{s}</text>' for s in steps[1::2])
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif">'
           f'<rect width="100%" height="100%" fill="white"/>{ticks}{xt}{line(tr, "#1f77b4")}{line(he, "#d62728")}'
           f'<text x="{w / 2 - 40}" y="{h - 5}" font-size="12">training step</text>'
           f'<text x="{w - 250}" y="40" font-size="12" fill="#1f77b4">train loss (smoothed, dropout on)</text>'
           f'<text x="{w - 250}" y="56" font-size="12" fill="#d62728">held-out loss (nats/token)</text></svg>')
    with open(path, "w") as f:
        f.write(svg)


def main():
    torch.set_num_threads(1)
    tok = load_tokenizer()
    log = [json.loads(l) for l in open(os.path.join(RUNS, "target", "log.jsonl"))]
    summary = read_json(os.path.join(RUNS, "target", "summary.json"), {})
    agreement = read_json(os.path.join(RUNS, "draft", "agreement.json"), {})
    times = read_json(os.path.join(RUNS, "times.json"), {})
    svg_curve(log, os.path.join(MODELS, "training-curve.svg"))
    entries, samples, refs = [], {}, {}
    for name, role, ckpt in (("lab-target", "target", "target"), ("lab-draft", "draft", "draft")):
        folder = os.path.join(MODELS, name)
        ref = read_json(os.path.join(folder, "reference.json"))
        if ref is None:
            continue
        refs[name] = ref
        cfg = read_json(os.path.join(folder, "config.json"))
        model, _ = load_ckpt(os.path.join(RUNS, ckpt, "ckpt.pt"))
        samples[name] = {}
        for k, p in enumerate(PROMPTS):
            ids = tok.encode(p)
            samples[name][p] = {str(t): tok.decode(generate(model, ids, 120, t, seed=7 + k)) for t in (0, 0.8)}
        h = ref["heldout"]
        e = {"name": name, "folder": name, "role": role, "architecture": "llama",
             "description": (f"{cfg['num_hidden_layers']}x{cfg['hidden_size']} Llama (GQA {cfg['num_attention_heads']}/"
                             f"{cfg['num_key_value_heads']}, SwiGLU {cfg['intermediate_size']}, ctx "
                             f"{cfg['max_position_embeddings']}, byte-level BPE vocab {cfg['vocab_size']}"
                             f"{', tied embeddings' if cfg['tie_word_embeddings'] else ''}) trained on tinyshakespeare "
                             + ("with LayerSkip-style exit losses at every layer" if role == "target"
                                else "and distilled from lab-target (CE + KL)")),
             "parameters": ref["parameters"],
             "bytes": os.path.getsize(os.path.join(folder, "model.safetensors")),
             "files": sorted(os.path.relpath(os.path.join(dp, f), folder) for dp, _, fs in os.walk(folder) for f in fs),
             "heldout": {k: h[k] for k in ("nll_per_token", "perplexity_per_token", "bits_per_char",
                                           "perplexity_per_char", "exit_layer_nll", "predicted_tokens")},
             "training_command": CMD}
        if role == "target":
            e["training_seconds"] = summary.get("train_seconds")
            e["onnx"] = "onnx/model.onnx" if os.path.exists(os.path.join(folder, "onnx", "model.onnx")) else None
        else:
            e["draft_for"] = "lab-target"
            e["draft_top1_agreement"] = ref.get("draft_top1_agreement")
            e["training_seconds"] = agreement.get("distilled", {}).get("seconds")
        entries.append(e)
    write_json(os.path.join(MODELS, "manifest.json"), {
        "description": "Embedded models of Efficiency Lab: a Llama-architecture target and a ~10x cheaper draft for "
                       "speculative decoding, sharing one byte-level BPE tokenizer (vocab 1024), trained from scratch "
                       "on tinyshakespeare (first 90%). models/heldout.txt is the held-out last 10%; "
                       "models/heldout.ids.bin its token ids (uint16 LE). See docs/MODELS.md.",
        "heldout_text": "heldout.txt", "heldout_ids": "heldout.ids.bin", "models": entries})
    write_json(os.path.join(RUNS, "samples.json"), samples)
    from docs import write_docs
    write_docs(os.path.join(ROOT, "docs", "MODELS.md"), entries, refs, log, summary, agreement, samples, times)
    print("manifest + docs written")


if __name__ == "__main__":
    main()
