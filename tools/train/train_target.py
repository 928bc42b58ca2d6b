"""Stage 2: train the target model (6 x 256 Llama, GQA 8/4, SwiGLU 768, ctx 256) with LayerSkip-style exit losses.

Loss = CE(final) + aux_weight * sum_{l=1..N-1} CE(exit after layer l, on every 4th position), every exit through the shared final norm and
lm_head. AdamW (wd 0.1 on matrices), cosine LR with linear warmup, dropout, grad clip 1.0, fixed seed and steps.
Usage: train_target.py --steps 3000 [--measure 60]   (--measure: time that many seconds of steps and exit)
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from common import RUNS, VOCAB_SIZE, load_tokenizer, seed_everything, token_arrays
from evaluate import heldout_eval
from model import Llama, LlamaConfig

TARGET = LlamaConfig(vocab_size=VOCAB_SIZE, hidden_size=256, intermediate_size=768, num_hidden_layers=6,
                     num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=256,
                     tie_word_embeddings=False, dropout=0.1)


def batches(train, batch, ctx, seed):
    rng = np.random.RandomState(seed)
    while True:
        starts = rng.randint(0, len(train) - ctx - 1, size=batch)
        x = np.stack([train[s:s + ctx + 1] for s in starts]).astype(np.int64)
        yield torch.from_numpy(x[:, :-1]), torch.from_numpy(x[:, 1:])


def make_optimizer(model, lr, wd):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.95), eps=1e-8)


def lr_at(step, steps, lr, warmup, min_ratio=0.1):
    if step < warmup:
        return lr * (step + 1) / warmup
    p = (step - warmup) / max(1, steps - warmup)
    return lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * p)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--aux", type=float, default=0.1, help="weight of each intermediate exit loss")
    ap.add_argument("--exit-stride", type=int, default=4, help="aux exit losses on every k-th position")
    ap.add_argument("--eval-every", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--measure", type=float, default=0)
    ap.add_argument("--stop-at", type=int, default=0,
                    help="stop after this many steps of the --steps schedule (must be a multiple of --eval-every)")
    ap.add_argument("--out", default=os.path.join(RUNS, "target"))
    a = ap.parse_args()
    torch.set_num_threads(1)
    seed_everything(a.seed)
    os.makedirs(a.out, exist_ok=True)
    train, held = token_arrays()
    tok = load_tokenizer()
    c = TARGET
    model = Llama(c)
    print(f"target: {model.num_params()} params, train {len(train)} tokens, {a.steps} steps of {a.batch}x"
          f"{c.max_position_embeddings}", flush=True)
    opt = make_optimizer(model, a.lr, a.wd)
    data = batches(train, a.batch, c.max_position_embeddings, a.seed)
    log = open(os.path.join(a.out, "log.jsonl"), "a" if a.measure else "w")
    t0 = time.time()
    train_time = 0.0
    smooth = None
    for step in range(a.steps):
        ts = time.time()
        model.train()
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a.steps, a.lr, a.warmup)
        x, y = next(data)
        outs = model(x, exits=True, exit_stride=a.exit_stride)
        ys = [y[:, ::a.exit_stride]] * (len(outs) - 1) + [y]
        losses = [F.cross_entropy(lg.reshape(-1, c.vocab_size), t.reshape(-1)) for lg, t in zip(outs, ys)]
        loss = losses[-1] + a.aux * sum(losses[:-1])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        train_time += time.time() - ts
        lf = losses[-1].item()
        smooth = lf if smooth is None else 0.98 * smooth + 0.02 * lf
        if step % 25 == 0:
            tps = (step + 1) * a.batch * c.max_position_embeddings / train_time
            print(f"step {step} loss {lf:.4f} smooth {smooth:.4f} lr {lr_at(step, a.steps, a.lr, a.warmup):.2e} "
                  f"{tps:.0f} tok/s elapsed {time.time() - t0:.0f}s", flush=True)
        if a.measure and time.time() - t0 > a.measure:
            print(f"MEASURE {step + 1} steps in {train_time:.1f}s = {(step + 1) / train_time:.3f} steps/s", flush=True)
            return
        last = step == a.steps - 1 or step + 1 == a.stop_at
        if (step + 1) % a.eval_every == 0 or last:
            ev = heldout_eval(model, held, tok.token_bytes, c.max_position_embeddings)
            rec = {"step": step + 1, "train_loss_smooth": smooth, "lr": lr_at(step, a.steps, a.lr, a.warmup),
                   "tokens_seen": (step + 1) * a.batch * c.max_position_embeddings,
                   "train_seconds": train_time, "wall_seconds": time.time() - t0, "heldout": ev}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(f"EVAL step {step + 1} heldout nll {ev['nll_per_token']:.4f} ppl {ev['perplexity_per_token']:.2f} "
                  f"exits {' '.join(f'{v:.3f}' for v in ev['exit_layer_nll'])}", flush=True)
            torch.save({"config": c.to_dict(), "state_dict": model.state_dict(), "step": step + 1},
                       os.path.join(a.out, "ckpt.pt.tmp"))
            os.replace(os.path.join(a.out, "ckpt.pt.tmp"), os.path.join(a.out, "ckpt.pt"))
        if step + 1 == a.stop_at:
            break
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump({"steps": a.steps, "stopped_at": step + 1, "batch": a.batch, "train_seconds": train_time, "wall_seconds": time.time() - t0,
                   "args": vars(a), "params": model.num_params()}, f, indent=2)
    print(f"done in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
