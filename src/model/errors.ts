// Typed errors for model loading. Every message starts with the file it is about and names the tensor, field or
// limit involved, so a user who picked the wrong folder (or a truncated download) is told exactly what is wrong.
// Each class sets `name` to its own name: only name + message survive the worker boundary (structured cloning).

/** Any failure to load a model: a missing file, an HTTP error, a file that is not what it claims to be. */
export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message.startsWith(`${file}: `) ? message : `${file}: ${message}`);
  }
}

/** A malformed .safetensors file (header, dtype, shape, offsets). */
export class SafetensorsError extends ModelLoadError {
  override name = 'SafetensorsError';
  constructor(
    message: string,
    file: string,
    readonly tensor?: string,
  ) {
    super(message, file);
  }
}

/** config.json: a missing or invalid field, or an architecture/feature the lab does not support. */
export class ConfigError extends ModelLoadError {
  override name = 'ConfigError';
  constructor(
    message: string,
    file: string,
    readonly field: string,
  ) {
    super(message, file);
  }
}

/** The weights file lacks a tensor the config says the model has. */
export class MissingTensorError extends ModelLoadError {
  override name = 'MissingTensorError';
  constructor(
    file: string,
    readonly tensor: string,
    detail = '',
  ) {
    super(`missing tensor "${tensor}"${detail ? ` (${detail})` : ''}`, file);
  }
}

/** A tensor's shape disagrees with the one config.json implies. */
export class ShapeMismatchError extends ModelLoadError {
  override name = 'ShapeMismatchError';
  constructor(
    file: string,
    readonly tensor: string,
    readonly expected: number[],
    readonly actual: number[],
  ) {
    super(`tensor "${tensor}" has shape [${actual.join(', ')}] but the config implies [${expected.join(', ')}]`, file);
  }
}

/** tokenizer.json / tokenizer_config.json could not be read or used. */
export class TokenizerError extends ModelLoadError {
  override name = 'TokenizerError';
}

/** A download failed — from the Hugging Face Hub, or from a served folder URL (the same downloader, src/model/hub.ts):
 *  `reason` says how; the message names the file and the URL. */
export class HubError extends ModelLoadError {
  override name = 'HubError';
  constructor(
    message: string,
    file: string,
    readonly reason: 'invalid' | 'not-found' | 'unauthorized' | 'network' | 'interrupted' | 'http',
    readonly status?: number,
  ) {
    super(message, file);
  }
}

/** The user cancelled a model load (AbortSignal); nothing partial was kept. */
export class LoadCancelledError extends ModelLoadError {
  override name = 'LoadCancelledError';
}

/** A malformed or unsupported GGUF file (header, metadata key, tensor info or tensor data). */
export class GgufError extends ModelLoadError {
  override name = 'GgufError';
  constructor(
    message: string,
    file: string,
    /** The metadata key or tensor name involved, if any. */
    readonly where?: string,
  ) {
    super(message, file);
  }
}

/** A malformed or unsupported llama2.c checkpoint (.bin) or tokenizer.bin: header value, size, version. */
export class Llama2cError extends ModelLoadError {
  override name = 'Llama2cError';
}
