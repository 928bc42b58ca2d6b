"""Stage 5: export a trained checkpoint into models/<name>/ (HF layout) + reference.json (+ ONNX for the target).

Files: config.json (LlamaForCausalLM), model.safetensors (F32, written by hand; a tied lm_head is omitted as in HF),
generation_config.json, tokenizer.json, tokenizer_config.json, reference.json, [onnx/model.onnx].
Usage: export.py --ckpt runs/target/ckpt.pt --name lab-target [--onnx] [--eval runs/target/eval.json]
"""
import argparse
import json
import os
import struct

import numpy as np
import torch

from common import MODELS, load_tokenizer, token_arrays, write_json
from evaluate import heldout_eval
from model import Llama, LlamaConfig

PROMPT = "ROMEO:\nBut soft, what light"
N_LOGIT_POSITIONS = 4
N_GREEDY = 32


def load_ckpt(path):
    ck = torch.load(path, map_location="cpu")
    cfg = dict(ck["config"])
    cfg["dropout"] = 0.0
    model = Llama(LlamaConfig(**cfg))
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model, ck


def export_tensors(model):
    sd = model.state_dict()
    if model.config.tie_word_embeddings:
        sd.pop("lm_head.weight")
    return {k: v.detach().to(torch.float32).contiguous().numpy() for k, v in sorted(sd.items())}


def write_safetensors(path, tensors, metadata=None):
    """8-byte LE header length, JSON header {name: {dtype, shape, data_offsets}}, then the raw LE data."""
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)  # pad so the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    return {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dtype="<f4").reshape(v["shape"])
            for k, v in header.items()}


@torch.no_grad()
def reference(model, tok):
    ids = tok.encode(PROMPT)
    x = torch.tensor([ids])
    logits = model(x)[0]  # (T, V)
    seq = list(ids)
    for _ in range(N_GREEDY):  # greedy, full recompute each step (prompt + 32 < context)
        seq.append(int(model(torch.tensor([seq]))[0, -1].argmax()))
    greedy = seq[len(ids):]
    return {
        "prompt": PROMPT, "prompt_ids": ids,
        "logits_positions": N_LOGIT_POSITIONS,
        "logits": [[float(v) for v in logits[i].tolist()] for i in range(N_LOGIT_POSITIONS)],
        "greedy_ids": greedy, "greedy_text": tok.decode(greedy),
        "greedy_note": f"argmax continuation of the prompt, {N_GREEDY} tokens, no BOS, positions 0..",
    }


class OnnxWrapper(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.m = model
        self.n = model.config.num_hidden_layers

    def forward(self, input_ids, attention_mask, position_ids, *past):
        pkv = [(past[2 * i], past[2 * i + 1]) for i in range(self.n)]
        logits, presents = self.m(input_ids, position_ids=position_ids, attention_mask=attention_mask,
                                  past_key_values=pkv)
        flat = [t for kv in presents for t in kv]
        return (logits, *flat)


def export_onnx(model, folder):
    c = model.config
    os.makedirs(folder, exist_ok=True)
    B, P, T = 1, 3, 2
    past = []
    names_in, names_out = ["input_ids", "attention_mask", "position_ids"], ["logits"]
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size", 1: "sequence_length"}}
    for i in range(c.num_hidden_layers):
        for kind in ("key", "value"):
            past.append(torch.randn(B, c.num_key_value_heads, P, c.head_dim))
            names_in.append(f"past_key_values.{i}.{kind}")
            names_out.append(f"present.{i}.{kind}")
            axes[f"past_key_values.{i}.{kind}"] = {0: "batch_size", 2: "past_sequence_length"}
            axes[f"present.{i}.{kind}"] = {0: "batch_size", 2: "total_sequence_length"}
    args = (torch.randint(0, c.vocab_size, (B, T)), torch.ones(B, P + T, dtype=torch.long),
            torch.arange(P, P + T)[None], *past)
    path = os.path.join(folder, "model.onnx")
    torch.onnx.export(OnnxWrapper(model), args, path, input_names=names_in, output_names=names_out,
                      dynamic_axes=axes, opset_version=14, do_constant_folding=True)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--onnx", action="store_true")
    ap.add_argument("--extra", default=None, help="JSON file merged into reference.json (e.g. draft agreement)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    model, ck = load_ckpt(a.ckpt)
    c = model.config
    tok = load_tokenizer()
    folder = os.path.join(MODELS, a.name)
    os.makedirs(folder, exist_ok=True)
    tok.save(folder, max_len=c.max_position_embeddings)
    eot = tok.eot_id
    write_json(os.path.join(folder, "config.json"), c.hf_config(eot, eot))
    write_json(os.path.join(folder, "generation_config.json"),
               {"bos_token_id": eot, "eos_token_id": eot, "pad_token_id": eot, "do_sample": False,
                "max_length": c.max_position_embeddings})
    tensors = export_tensors(model)
    st = os.path.join(folder, "model.safetensors")
    write_safetensors(st, tensors, {"format": "pt", "training_step": ck.get("step")})
    back = read_safetensors(st)  # round trip: the file reloads into an identical model
    sd = {k: torch.from_numpy(v.copy()) for k, v in back.items()}
    if c.tie_word_embeddings:
        sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
    m2 = Llama(c)
    m2.load_state_dict(sd)
    m2.eval()
    ref = reference(model, tok)
    with torch.no_grad():
        x = torch.tensor([ref["prompt_ids"]])
        assert torch.equal(m2(x), model(x)), "safetensors round trip changed the logits"
    _, held = token_arrays()
    ev = heldout_eval(model, held, tok.token_bytes, c.max_position_embeddings)
    ref["heldout"] = ev
    ref["heldout_procedure"] = ("models/heldout.txt tokenized whole with this tokenizer (no BOS); ids split into "
                                f"consecutive non-overlapping windows of {c.max_position_embeddings} tokens (the last "
                                "shorter); each window run from scratch at positions 0..len-1; predict tokens 1..len-1 "
                                "of each window; nll_per_token = mean NLL in nats over all predicted tokens; "
                                "perplexity_per_token = exp(nll_per_token); bits_per_char = sum NLL / ln 2 / "
                                "characters of the predicted tokens; exit_layer_nll[l-1] = same after layer l via "
                                "the shared final norm + lm_head")
    ref["parameters"] = int(sum(v.size for v in tensors.values()))
    ref["training_step"] = ck.get("step")
    if a.extra:
        with open(a.extra) as f:
            ref.update(json.load(f))
    write_json(os.path.join(folder, "reference.json"), ref, indent=None)
    if a.onnx:
        p = export_onnx(model, os.path.join(folder, "onnx"))
        print("onnx:", p, os.path.getsize(p))
    print(f"{a.name}: {ref['parameters']} params, heldout nll {ev['nll_per_token']:.4f} ppl "
          f"{ev['perplexity_per_token']:.3f} bpc {ev['bits_per_char']:.4f}; exits "
          f"{[round(v, 4) for v in ev['exit_layer_nll']]}; greedy {ref['greedy_text']!r}")


if __name__ == "__main__":
    main()
