"""Stage 1: train the byte-level BPE (vocab 1024) on the training 90% and write the tokenizer files.

Writes runs/tokenizer_merges.json, runs/tokens.npz, models/heldout.txt, models/heldout.ids.bin (uint16 LE ids of the
whole held-out text, checked against @huggingface/tokenizers by tests/unit/tokenizer.test.ts) and
tokenizer.json + tokenizer_config.json into models/lab-target and models/lab-draft.
"""
import os
import time

import numpy as np

from bpe import ByteBPE, train_bpe
from common import MODELS, RUNS, VOCAB_SIZE, read_corpus, token_arrays, write_json


def main():
    os.makedirs(RUNS, exist_ok=True)
    t0 = time.time()
    train_text, held_text = read_corpus()
    merges = train_bpe(train_text, VOCAB_SIZE)
    tok = ByteBPE(merges, VOCAB_SIZE)
    write_json(os.path.join(RUNS, "tokenizer_merges.json"), tok.to_dict(), indent=None)
    if os.path.exists(os.path.join(RUNS, "tokens.npz")):
        os.remove(os.path.join(RUNS, "tokens.npz"))
    train, held = token_arrays()
    assert tok.decode(held.tolist()) == held_text
    with open(os.path.join(MODELS, "heldout.txt"), "w", encoding="utf-8") as f:
        f.write(held_text)
    held.astype("<u2").tofile(os.path.join(MODELS, "heldout.ids.bin"))
    for name in ("lab-target", "lab-draft"):
        tok.save(os.path.join(MODELS, name), max_len=256)
    print(f"tokenizer: {len(merges)} merges, train {len(train)} tokens ({len(train_text) / len(train):.3f} chars/token), "
          f"held-out {len(held)} tokens ({len(held_text) / len(held):.3f} chars/token), {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
