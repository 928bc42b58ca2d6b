// Profiler: GPU time per kernel family from timestamp queries (feature 'timestamp-query'). Each profiled
// dispatch gets its own compute pass with begin/end timestamps. Browsers may quantize timestamps (Chrome
// rounds to 100 µs unless started with --enable-webgpu-developer-features), so sums over many dispatches are
// meaningful and single tiny kernels are not.

export class Profiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuf: GPUBuffer;
  private readonly readBuf: GPUBuffer;
  private busy = false;

  constructor(device: GPUDevice, readonly capacity = 2048) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: capacity * 2 });
    this.resolveBuf = device.createBuffer({ size: capacity * 16, usage: 0x200 | 0x04 }); // QUERY_RESOLVE | COPY_SRC
    this.readBuf = device.createBuffer({ size: capacity * 16, usage: 0x01 | 0x08 }); // MAP_READ | COPY_DST
  }

  hasRoom(i: number): boolean {
    return !this.busy && i < this.capacity;
  }

  writes(i: number): GPUComputePassTimestampWrites {
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  resolve(encoder: GPUCommandEncoder, n: number): void {
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuf, 0);
    encoder.copyBufferToBuffer(this.resolveBuf, 0, this.readBuf, 0, n * 16);
    this.busy = true;
  }

  /** Sum of (end - begin) nanoseconds per kernel family. */
  async collect(names: readonly string[]): Promise<Map<string, number>> {
    try {
      await this.readBuf.mapAsync(0x0001, 0, names.length * 16);
      const t = new BigUint64Array(this.readBuf.getMappedRange(0, names.length * 16).slice(0));
      this.readBuf.unmap();
      const out = new Map<string, number>();
      names.forEach((name, i) => {
        const d = Number(t[2 * i + 1]! - t[2 * i]!);
        out.set(name, (out.get(name) ?? 0) + (d > 0 ? d : 0));
      });
      return out;
    } finally {
      this.busy = false;
    }
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuf.destroy();
    this.readBuf.destroy();
  }
}
