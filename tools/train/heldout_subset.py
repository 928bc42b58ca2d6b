"""Held-out figures on the first windows only, so the lab can check its perplexity against PyTorch in CI time.

Same procedure as evaluate.py (non-overlapping 256-token windows from scratch), restricted to the first N ids of
models/heldout.ids.bin, computed from the exported models/<name>/model.safetensors. Writes
"heldout_subset": {"ids": N, "nll_per_token", "perplexity_per_token", "exit_layer_nll", "predicted_tokens"} into
models/<name>/reference.json.
Usage: /usr/bin/python3 tools/train/heldout_subset.py [--name lab-target] [--ids 1024]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from evaluate import heldout_eval  # noqa: E402
from export import read_safetensors  # noqa: E402
from model import Llama, LlamaConfig  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="lab-target")
    ap.add_argument("--ids", type=int, default=1024)
    a = ap.parse_args()
    folder = os.path.join(ROOT, "models", a.name)
    hf = json.load(open(os.path.join(folder, "config.json")))
    cfg = LlamaConfig(**{k: hf[k] for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                                            "num_attention_heads", "num_key_value_heads", "max_position_embeddings",
                                            "rms_norm_eps", "rope_theta", "tie_word_embeddings")})
    model = Llama(cfg)
    sd = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(os.path.join(folder, "model.safetensors")).items()}
    if cfg.tie_word_embeddings:
        sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
    model.load_state_dict(sd)
    ids = np.fromfile(os.path.join(ROOT, "models", "heldout.ids.bin"), dtype="<u2")[: a.ids].astype(np.int64)
    res = heldout_eval(model, ids, ctx=cfg.max_position_embeddings)
    res["ids"] = a.ids
    path = os.path.join(folder, "reference.json")
    ref = json.load(open(path))
    ref["heldout_subset"] = res
    with open(path, "w") as f:
        json.dump(ref, f)
        f.write("\n")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
