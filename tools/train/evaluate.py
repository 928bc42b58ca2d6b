"""Held-out evaluation (the documented procedure the lab reproduces).

Procedure: tokenize the whole held-out text (models/heldout.txt) with the lab tokenizer; split the ids into
consecutive non-overlapping windows of max_position_embeddings (256) tokens, the last window shorter (49422 ids =
193 windows of 256 + one of 14); run each window from scratch (positions 0..len-1, no cache, no BOS); in each window
predict tokens 1..len-1 from their prefix; nll_per_token = mean NLL (nats) over all predicted tokens;
perplexity_per_token = exp(nll_per_token); bits_per_char = sum NLL / ln 2 / (characters of the predicted tokens).
"""
import math

import numpy as np
import torch
import torch.nn.functional as F


def windows(ids, ctx):
    return [ids[i:i + ctx] for i in range(0, len(ids), ctx) if len(ids[i:i + ctx]) >= 2]


@torch.no_grad()
def heldout_eval(model, ids, token_bytes=None, ctx=256, batch=16, teacher=None):
    """Returns dict with nll per exit layer (last = final), counts, bits_per_char and (with teacher) top-1 agreement."""
    model.eval()
    ws = windows(np.asarray(ids, dtype=np.int64), ctx)
    n_layers = model.config.num_hidden_layers
    nll_sum = np.zeros(n_layers)
    n_pred, n_chars, agree = 0, 0, 0
    for b0 in range(0, len(ws), batch):
        group = ws[b0:b0 + batch]
        lens = {len(w) for w in group}
        for L in sorted(lens):  # equal-length sub-batches (only the final window is short)
            x = torch.from_numpy(np.stack([w for w in group if len(w) == L]))
            outs = model(x, exits=True)
            tgt = x[:, 1:]
            for li, lg in enumerate(outs):
                nll_sum[li] += F.cross_entropy(lg[:, :-1].reshape(-1, lg.shape[-1]), tgt.reshape(-1),
                                               reduction="sum").item()
            if teacher is not None:
                t = teacher(x)
                agree += (t[:, :-1].argmax(-1) == outs[-1][:, :-1].argmax(-1)).sum().item()
            n_pred += tgt.numel()
            if token_bytes is not None:
                n_chars += sum(len(token_bytes[i]) for i in tgt.reshape(-1).tolist())
    nll = nll_sum / n_pred
    res = {"nll_per_token": float(nll[-1]), "perplexity_per_token": float(math.exp(nll[-1])),
           "exit_layer_nll": [float(v) for v in nll], "predicted_tokens": int(n_pred)}
    if token_bytes is not None:
        res["bits_per_char"] = float(nll_sum[-1] / math.log(2) / n_chars)
        res["perplexity_per_char"] = float(math.exp(nll_sum[-1] / n_chars))
        res["predicted_chars"] = int(n_chars)
    if teacher is not None:
        res["top1_agreement"] = agree / n_pred
    return res
