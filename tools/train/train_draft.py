"""Stage 3: the draft model (2 x 128 Llama, GQA 4/2, SwiGLU 384, tied embeddings), distilled from the target.

1. The trained target (eval mode) scores the training tokens in non-overlapping 256-token windows; its
   log-probabilities are kept in memory as float16 (the teacher).
2. Baseline draft: CE only. 3. Distilled draft: CE + KL(target || draft) (temperature 1).
Both start from the same initialisation and see the same windows in the same order for the same number of steps, so
the only difference is the KL term. Both are evaluated on the held-out text (NLL and top-1 agreement with the
target, which is what speculative-decoding acceptance depends on). runs/draft/agreement.json holds the comparison.
Usage: train_draft.py --target runs/target/ckpt.pt --steps 500 [--phase all|baseline|distill]
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from common import RUNS, VOCAB_SIZE, load_tokenizer, seed_everything, token_arrays
from evaluate import heldout_eval
from export import load_ckpt
from model import Llama, LlamaConfig
from train_target import lr_at, make_optimizer

DRAFT = LlamaConfig(vocab_size=VOCAB_SIZE, hidden_size=128, intermediate_size=384, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                    tie_word_embeddings=True, dropout=0.0)


@torch.no_grad()
def teacher_logprobs(teacher, windows, batch=16):
    out = np.empty((len(windows), windows.shape[1], VOCAB_SIZE), dtype=np.float16)
    for i in range(0, len(windows), batch):
        x = torch.from_numpy(windows[i:i + batch])
        out[i:i + batch] = F.log_softmax(teacher(x), dim=-1).numpy().astype(np.float16)
    return out


def train_one(name, windows, teacher_lp, a, kd):
    seed_everything(a.seed)  # same init and order for baseline and distilled
    model = Llama(DRAFT)
    opt = make_optimizer(model, a.lr, a.wd)
    rng = np.random.RandomState(a.seed)
    order = np.concatenate([rng.permutation(len(windows)) for _ in range(a.steps * a.batch // len(windows) + 1)])
    t0, log = time.time(), []
    for step in range(a.steps):
        model.train()
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a.steps, a.lr, a.warmup)
        idx = order[step * a.batch:(step + 1) * a.batch]
        w = torch.from_numpy(windows[idx])
        x, y = w[:, :-1], w[:, 1:]
        logits = model(x)
        ce = F.cross_entropy(logits.reshape(-1, VOCAB_SIZE), y.reshape(-1))
        loss = ce
        if kd:
            t = torch.from_numpy(teacher_lp[idx].astype(np.float32))  # (B, T, V) teacher log-probs of x
            lq = F.log_softmax(logits, dim=-1)
            kl = (t.exp() * (t - lq)).sum(-1).mean()  # KL(target || draft)
            loss = ce + a.kd_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == a.steps - 1:
            rec = {"step": step + 1, "ce": ce.item(), "loss": loss.item(), "seconds": time.time() - t0}
            log.append(rec)
            print(name, json.dumps(rec), flush=True)
    return model, time.time() - t0, log


def save(model, path, steps):
    torch.save({"config": DRAFT.to_dict(), "state_dict": model.state_dict(), "step": steps}, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", default=os.path.join(RUNS, "target", "ckpt.pt"))
    ap.add_argument("--phase", choices=["all", "baseline", "distill"], default="all",
                    help="baseline (CE only) does not need the target, so it may run first; distill needs baseline.pt")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--kd-weight", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--out", default=os.path.join(RUNS, "draft"))
    ap.add_argument("--max-windows", type=int, default=0, help="smoke test: use only this many training windows")
    a = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    train, held = token_arrays()
    tok = load_tokenizer()
    ctx = DRAFT.max_position_embeddings
    n = (len(train) - 1) // ctx
    # windows of ctx+1 tokens overlapping by one token, so every training token is a target exactly once
    windows = np.stack([train[i * ctx:i * ctx + ctx + 1] for i in range(n)]).astype(np.int64)
    if a.max_windows:
        windows = windows[:a.max_windows]
    base_path = os.path.join(a.out, "baseline.pt")
    if a.phase in ("all", "baseline"):
        model_b, s_b, log_b = train_one("baseline", windows, None, a, False)
        save(model_b, base_path, a.steps)
        with open(os.path.join(a.out, "baseline.json"), "w") as f:
            json.dump({"seconds": s_b, "log": log_b, "args": vars(a)}, f, indent=2)
        if a.phase == "baseline":
            return
    teacher, _ = load_ckpt(a.target)
    t0 = time.time()
    teacher_lp = teacher_logprobs(teacher, windows[:, :-1])
    t_teacher = time.time() - t0
    print(f"teacher log-probs for {len(windows)} windows in {t_teacher:.0f}s", flush=True)
    model, s_d, log_d = train_one("distilled", windows, teacher_lp, a, True)
    save(model, os.path.join(a.out, "ckpt.pt"), a.steps)
    with open(os.path.join(a.out, "baseline.json")) as f:
        base = json.load(f)
    model_b, _ = load_ckpt(base_path)
    res = {"teacher_seconds": t_teacher, "steps": a.steps, "batch": a.batch, "args": vars(a)}
    for name, m, secs, log in (("baseline", model_b, base["seconds"], base["log"]), ("distilled", model, s_d, log_d)):
        ev = heldout_eval(m, held, tok.token_bytes, ctx, teacher=teacher)
        print(f"{name}: {secs:.0f}s heldout nll {ev['nll_per_token']:.4f} top1 agreement {ev['top1_agreement']:.4f}",
              flush=True)
        res[name] = {"heldout": ev, "seconds": secs, "log": log}
    with open(os.path.join(a.out, "agreement.json"), "w") as f:
        json.dump(res, f, indent=2)
    extra = {"draft_top1_agreement": {
        "metric": "fraction of held-out predicted positions where argmax(draft) == argmax(target), same windows as "
                  "the held-out perplexity",
        "before_distillation": res["baseline"]["heldout"]["top1_agreement"],
        "after_distillation": res["distilled"]["heldout"]["top1_agreement"],
        "baseline_heldout_nll": res["baseline"]["heldout"]["nll_per_token"],
        "distilled_heldout_nll": res["distilled"]["heldout"]["nll_per_token"],
        "note": "before = same draft trained with CE only (same init, data, steps); after = CE + KL(target||draft)"}}
    with open(os.path.join(a.out, "extra.json"), "w") as f:
        json.dump(extra, f, indent=2)


if __name__ == "__main__":
    main()
