// Model format detection from file names: HF folders, GGUF files, llama2.c checkpoints, and nothing usable.
import { describe, expect, it } from 'vitest';
import { detectFormat, pickLlama2cFiles } from '../../src/model/detect';
import { ModelLoadError } from '../../src/model/errors';

describe('detectFormat', () => {
  it('an HF folder: config.json with safetensors (single, sharded, or index only)', () => {
    expect(detectFormat(['config.json', 'model.safetensors', 'tokenizer.json'])).toBe('hf');
    expect(detectFormat(['SmolLM2/config.json', 'SmolLM2/model-00001-of-00002.safetensors', 'SmolLM2/model-00002-of-00002.safetensors'])).toBe('hf');
    expect(detectFormat(['config.json', 'model.safetensors.index.json'])).toBe('hf');
    // HF repos often also carry pytorch_model.bin: still HF, never llama2.c
    expect(detectFormat(['config.json', 'pytorch_model.bin', 'model.safetensors'])).toBe('hf');
    // config.json alone goes to the HF loader, which names the missing weights
    expect(detectFormat(['config.json', 'pytorch_model.bin'])).toBe('hf');
  });

  it('a .gguf file, even beside a config.json', () => {
    expect(detectFormat(['qwen2-0_5b-instruct-q8_0.gguf'])).toBe('gguf');
    expect(detectFormat(['models/TinyLlama.Q4_0.GGUF', 'models/config.json', 'README.md'])).toBe('gguf');
  });

  it('a llama2.c checkpoint with or without tokenizer.bin', () => {
    expect(detectFormat(['stories15M.bin', 'tokenizer.bin'])).toBe('llama2c');
    expect(detectFormat(['out/model.bin'])).toBe('llama2c');
    expect(detectFormat(['C:\\models\\stories\\stories260K.bin', 'C:\\models\\stories\\tok512.bin'])).toBe('llama2c');
  });

  it('nothing usable', () => {
    expect(detectFormat([])).toBeNull();
    expect(detectFormat(['tokenizer.bin'])).toBeNull();
    expect(detectFormat(['tok512.bin'])).toBeNull();
    expect(detectFormat(['pytorch_model.bin', 'training_args.bin', 'tokenizer.json'])).toBeNull();
    expect(detectFormat(['model.safetensors'])).toBeNull(); // safetensors without config.json
    expect(detectFormat(['notes.txt', 'model.onnx'])).toBeNull();
  });
});

describe('pickLlama2cFiles', () => {
  it('names the checkpoint and the tokenizer as given', () => {
    expect(pickLlama2cFiles(['a/stories15M.bin', 'a/tokenizer.bin', 'a/README.md'])).toEqual({ checkpoint: 'a/stories15M.bin', tokenizer: 'a/tokenizer.bin' });
    expect(pickLlama2cFiles(['model.bin'])).toEqual({ checkpoint: 'model.bin', tokenizer: null });
    expect(pickLlama2cFiles(['stories260K.bin', 'tok512.bin'])).toEqual({ checkpoint: 'stories260K.bin', tokenizer: 'tok512.bin' });
  });

  it('refuses an ambiguous or empty folder with a ModelLoadError listing the files', () => {
    expect(() => pickLlama2cFiles(['stories15M.bin', 'stories42M.bin', 'tokenizer.bin'])).toThrow(ModelLoadError);
    expect(() => pickLlama2cFiles(['stories15M.bin', 'stories42M.bin'])).toThrow(/several llama2\.c checkpoints \(stories15M\.bin, stories42M\.bin\)/);
    expect(() => pickLlama2cFiles(['tokenizer.bin'])).toThrow(/no llama2\.c checkpoint/);
    expect(() => pickLlama2cFiles(['m.bin', 'x/tokenizer.bin', 'y/tokenizer.bin'])).toThrow(/several tokenizer files \(x\/tokenizer\.bin, y\/tokenizer\.bin\)/);
  });
});
