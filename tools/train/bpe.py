"""Byte-level BPE tokenizer (GPT-2 style): deterministic trainer, encoder, decoder, HF tokenizer.json writer.

Vocabulary layout (size V):
  ids 0..255      one token per byte, id == byte value (token string = GPT-2 bytes_to_unicode(byte))
  ids 256..V-2    merges, in the order they were learned (id 256 + k is merge k)
  id  V-1         <|endoftext|> (bos = eos = pad)

Training: pre-tokenize with the GPT-2 regex, count words, then repeatedly merge the most frequent adjacent pair.
Ties in pair counts are broken by the smallest (left id, right id), so training is fully deterministic.
Encoding: per pre-token, repeatedly merge the adjacent pair with the lowest merge rank (leftmost first), which is
what the Hugging Face BPE model (Rust and @huggingface/tokenizers) does with ignore_merges = false.
"""
import json
from collections import Counter, defaultdict

import regex

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
EOT = "<|endoftext|>"
_PAT = regex.compile(GPT2_PATTERN)


def bytes_to_unicode():
    """GPT-2's reversible map from the 256 byte values to printable unicode characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()
U2B = {u: b for b, u in B2U.items()}


def pretokenize(text):
    return _PAT.findall(text)


def train_bpe(text, vocab_size):
    """Returns the list of merges [(left_id, right_id), ...] (vocab_size - 257 of them)."""
    n_merges = vocab_size - 256 - 1
    word_counts = Counter(pretokenize(text))
    words = [list(w.encode("utf-8")) for w in word_counts]  # each word: list of token ids
    counts = list(word_counts.values())
    pair_counts = defaultdict(int)
    where = defaultdict(set)  # pair -> indices of words containing it
    for wi, w in enumerate(words):
        for p in zip(w, w[1:]):
            pair_counts[p] += counts[wi]
            where[p].add(wi)
    merges = []
    for k in range(n_merges):
        if not pair_counts:
            break
        best = min(pair_counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        new_id = 256 + k
        merges.append(best)
        for wi in sorted(where.pop(best, ())):
            w, c = words[wi], counts[wi]
            for p in zip(w, w[1:]):  # remove this word's old pairs
                pair_counts[p] -= c
                if pair_counts[p] <= 0:
                    del pair_counts[p]
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == best[0] and w[i + 1] == best[1]:
                    out.append(new_id)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[wi] = out
            for p in zip(out, out[1:]):
                pair_counts[p] += c
                where[p].add(wi)
        pair_counts.pop(best, None)
    return merges


class ByteBPE:
    def __init__(self, merges, vocab_size):
        self.merges = [tuple(m) for m in merges]
        self.vocab_size = vocab_size
        self.eot_id = vocab_size - 1
        self.ranks = {m: r for r, m in enumerate(self.merges)}
        self.token_bytes = [bytes([b]) for b in range(256)]
        for a, b in self.merges:
            self.token_bytes.append(self.token_bytes[a] + self.token_bytes[b])
        self._cache = {}

    def token_str(self, i):
        if i == self.eot_id:
            return EOT
        return "".join(B2U[b] for b in self.token_bytes[i])

    def _bpe(self, word):
        ids = self._cache.get(word)
        if ids is not None:
            return ids
        ids = list(word.encode("utf-8"))
        while len(ids) > 1:
            best_rank, best_i = None, -1
            for i in range(len(ids) - 1):
                r = self.ranks.get((ids[i], ids[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best_rank, best_i = r, i
            if best_rank is None:
                break
            a, b = self.merges[best_rank]
            out, i = [], 0
            while i < len(ids):
                if i + 1 < len(ids) and ids[i] == a and ids[i + 1] == b:
                    out.append(256 + best_rank)
                    i += 2
                else:
                    out.append(ids[i])
                    i += 1
            ids = out
        self._cache[word] = ids
        return ids

    def encode(self, text):
        out = []
        for w in pretokenize(text):
            out.extend(self._bpe(w))
        return out

    def decode(self, ids):
        return b"".join(self.token_bytes[i] for i in ids if i != self.eot_id).decode("utf-8", errors="replace")

    def tokenizer_json(self):
        vocab = {self.token_str(i): i for i in range(self.vocab_size - 1)}
        merges = [[self.token_str(a), self.token_str(b)] for a, b in self.merges]
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [{"id": self.eot_id, "content": EOT, "single_word": False, "lstrip": False,
                              "rstrip": False, "normalized": False, "special": True}],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                      "ignore_merges": False, "vocab": vocab, "merges": merges},
        }

    def tokenizer_config(self, max_len):
        return {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": EOT, "eos_token": EOT, "unk_token": EOT, "pad_token": EOT,
            "add_bos_token": False, "add_eos_token": False, "add_prefix_space": False,
            "clean_up_tokenization_spaces": False, "model_max_length": max_len,
            "added_tokens_decoder": {str(self.eot_id): {"content": EOT, "lstrip": False, "normalized": False,
                                                         "rstrip": False, "single_word": False, "special": True}},
        }

    def save(self, folder, max_len):
        import os
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "tokenizer.json"), "w") as f:
            json.dump(self.tokenizer_json(), f, ensure_ascii=False, indent=1)
        with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
            json.dump(self.tokenizer_config(max_len), f, indent=2)

    def to_dict(self):
        return {"vocab_size": self.vocab_size, "merges": [list(m) for m in self.merges]}

    @classmethod
    def from_dict(cls, d):
        return cls(d["merges"], d["vocab_size"])
