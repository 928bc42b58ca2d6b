"""Shared paths, data split and helpers for the training pipeline."""
import json
import os
import random

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.environ.get("LAB_CORPUS", os.path.join(ROOT, "..", "shared", "corpus", "tinyshakespeare.txt"))
MODELS = os.path.join(ROOT, "models")
RUNS = os.path.join(ROOT, "tools", "train", "runs")
VOCAB_SIZE = 1024
SPLIT = 0.9  # first 90% of the characters train, the rest is held out


def read_corpus():
    with open(CORPUS, encoding="utf-8") as f:
        text = f.read()
    n = int(SPLIT * len(text))
    return text[:n], text[n:]


def seed_everything(seed):
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_tokenizer():
    from bpe import ByteBPE
    with open(os.path.join(RUNS, "tokenizer_merges.json")) as f:
        return ByteBPE.from_dict(json.load(f))


def token_arrays():
    """Training and held-out token ids (uint16 numpy), cached in runs/."""
    train_text, held_text = read_corpus()
    path = os.path.join(RUNS, "tokens.npz")
    if os.path.exists(path):
        d = np.load(path)
        return d["train"], d["held"]
    tok = load_tokenizer()
    train = np.array(tok.encode(train_text), dtype=np.uint16)
    held = np.array(tok.encode(held_text), dtype=np.uint16)
    np.savez(path, train=train, held=held)
    return train, held


def write_json(path, obj, indent=2):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=indent)
        f.write("\n")
