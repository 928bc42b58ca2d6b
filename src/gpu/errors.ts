// Typed errors for the GPU layer. Every message names the limit, tensor or feature involved.

export class GpuUnavailableError extends Error {
  override name = 'GpuUnavailableError';
}

/** A request exceeds an adapter limit (e.g. maxStorageBufferBindingSize). */
export class GpuLimitError extends Error {
  override name = 'GpuLimitError';
  constructor(
    readonly limit: string,
    readonly requested: number,
    readonly allowed: number,
    readonly what: string,
  ) {
    super(`${what} needs ${requested} bytes but the adapter's ${limit} is ${allowed}`);
  }
}

/** The device was lost (driver reset, tab backgrounded too long, device.destroy()). */
export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
  constructor(readonly reason: string, message: string) {
    super(`GPU device lost (${reason}): ${message}`);
  }
}
