// Which loader a set of files needs, from their names alone (paths are reduced to their last segment):
//   'hf'      config.json with safetensors weights (model.safetensors, model-0000x-of-0000y.safetensors, or the
//             sharded index) — or config.json with neither a .gguf nor a llama2.c checkpoint beside it (the HF
//             loader then names what is missing);
//   'gguf'    a *.gguf file (a GGUF repository may also carry a config.json: the .gguf wins over it);
//   'llama2c' a *.bin checkpoint that is not a tokenizer (tokenizer.bin, tok<N>.bin) nor a PyTorch pickle
//             (pytorch_model*.bin, training_args.bin, …), with its tokenizer when present, and no config.json;
//   null      none of these.
// pickLlama2cFiles names the checkpoint and tokenizer of a llama2.c folder, refusing an ambiguous one.

import { ModelLoadError } from './errors';

export type ModelFormat = 'hf' | 'gguf' | 'llama2c';

const base = (name: string) => name.split(/[\\/]/).pop()!;
const lower = (names: string[]) => names.map((n) => base(n).toLowerCase());
/** .bin files Hugging Face / PyTorch tooling writes, which are never llama2.c checkpoints. */
const NOT_LLAMA2C = /^(pytorch_model.*|training_args|optimizer|scheduler|rng_state.*|adapter_model|tf_model.*|flax_model.*)\.bin$/;
/** llama2.c's tokenizer files: tokenizer.bin, or tok<N>.bin for a custom vocabulary (its train_vocab.sh names). */
const isTokenizerBin = (n: string) => n === 'tokenizer.bin' || /^tok\d+\.bin$/.test(n);
const isCheckpoint = (n: string) => n.endsWith('.bin') && !isTokenizerBin(n) && !NOT_LLAMA2C.test(n);

export function detectFormat(names: string[]): ModelFormat | null {
  const ns = lower(names);
  const hasConfig = ns.includes('config.json');
  const hasSafetensors = ns.some((n) => n.endsWith('.safetensors') || n === 'model.safetensors.index.json');
  if (hasConfig && hasSafetensors) return 'hf';
  if (ns.some((n) => n.endsWith('.gguf'))) return 'gguf';
  if (hasConfig) return 'hf';
  if (ns.some(isCheckpoint)) return 'llama2c';
  return null;
}

/** The checkpoint and tokenizer (tokenizer.bin or tok<N>.bin; null when absent) among `names`, returned as
 *  given. Several candidates for either, or no checkpoint, is a ModelLoadError listing them. */
export function pickLlama2cFiles(names: string[]): { checkpoint: string; tokenizer: string | null } {
  const ckpts = names.filter((n) => isCheckpoint(base(n).toLowerCase()));
  if (ckpts.length === 0) throw new ModelLoadError('no llama2.c checkpoint (*.bin other than tokenizer.bin) among the files', 'model.bin');
  if (ckpts.length > 1) throw new ModelLoadError(`several llama2.c checkpoints (${ckpts.join(', ')}); pick one`, base(ckpts[0]!));
  const toks = names.filter((n) => isTokenizerBin(base(n).toLowerCase()));
  if (toks.length > 1) throw new ModelLoadError(`several tokenizer files (${toks.join(', ')}); pick one model folder`, base(toks[0]!));
  return { checkpoint: ckpts[0]!, tokenizer: toks[0] ?? null };
}
