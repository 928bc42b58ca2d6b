// BufferPool: allocates GpuTensors and counts every live byte by purpose. Freed buffers are kept in a small
// free list by exact size and reused (activations are re-made every generation), and destroyed on trim().

import { GpuLimitError } from './errors';
import { BYTES_PER_ELEMENT, type DType, type GpuTensor, type Purpose, PURPOSES, numel, shapeStr } from './tensor';

const USAGE_STORAGE = 0x80 | 0x08 | 0x04; // STORAGE | COPY_DST | COPY_SRC (GPUBufferUsage, spelled out for Node)

export type BytesByPurpose = Record<Purpose, number>;

export class BufferPool {
  private nextId = 1;
  private live = new Map<number, GpuTensor>();
  private free = new Map<number, GPUBuffer[]>(); // bytes -> spare buffers
  private freeBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly limits: { maxStorageBufferBindingSize: number; maxBufferSize: number },
  ) {}

  /** A new tensor of `shape`. Contents are undefined (reused buffers keep old data): write before reading. */
  alloc(label: string, shape: readonly number[], dtype: DType, purpose: Purpose): GpuTensor {
    const bytes = Math.max(4, Math.ceil((numel(shape) * BYTES_PER_ELEMENT[dtype]) / 4) * 4);
    const max = Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
    if (bytes > max) {
      const which = bytes > this.limits.maxBufferSize ? 'maxBufferSize' : 'maxStorageBufferBindingSize';
      throw new GpuLimitError(which, bytes, max, `tensor '${label}' ${shapeStr(shape)} ${dtype}`);
    }
    let buffer = this.free.get(bytes)?.pop();
    if (buffer) this.freeBytes -= bytes;
    else buffer = this.device.createBuffer({ label, size: bytes, usage: USAGE_STORAGE });
    const t: GpuTensor = { id: this.nextId++, label, shape: [...shape], dtype, purpose, bytes, buffer };
    this.live.set(t.id, t);
    return t;
  }

  /** alloc + upload in one step. */
  fromArray(label: string, shape: readonly number[], data: Float32Array | Uint32Array | Int32Array, purpose: Purpose): GpuTensor {
    const dtype: DType = data instanceof Float32Array ? 'f32' : data instanceof Uint32Array ? 'u32' : 'i32';
    if (data.length !== numel(shape)) throw new Error(`tensor '${label}': ${data.length} values for shape ${shapeStr(shape)}`);
    const t = this.alloc(label, shape, dtype, purpose);
    this.write(t, data);
    return t;
  }

  write(t: GpuTensor, data: ArrayBufferView, byteOffset = 0): void {
    if (byteOffset + data.byteLength > t.bytes) {
      throw new Error(`write of ${data.byteLength} bytes at ${byteOffset} overflows tensor '${t.label}' (${t.bytes} bytes)`);
    }
    this.device.queue.writeBuffer(t.buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Copy a tensor back to the CPU (a staging buffer counted while it lives). */
  async read(t: GpuTensor, byteLength = t.bytes, byteOffset = 0): Promise<ArrayBuffer> {
    const staging = this.device.createBuffer({ size: byteLength, usage: 0x01 | 0x08 }); // MAP_READ | COPY_DST
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(t.buffer, byteOffset, staging, 0, byteLength);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(0x0001); // GPUMapMode.READ
    const out = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    return out;
  }

  async readF32(t: GpuTensor): Promise<Float32Array> {
    return new Float32Array(await this.read(t, numel(t.shape) * 4));
  }

  async readU32(t: GpuTensor): Promise<Uint32Array> {
    return new Uint32Array(await this.read(t, numel(t.shape) * 4));
  }

  release(t: GpuTensor | undefined): void {
    if (!t || !this.live.delete(t.id)) return;
    const list = this.free.get(t.bytes) ?? [];
    list.push(t.buffer);
    this.free.set(t.bytes, list);
    this.freeBytes += t.bytes;
    if (this.freeBytes > 64 << 20) this.trim();
  }

  /** Destroy every spare buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.freeBytes = 0;
  }

  /** Live bytes by purpose (spare buffers are not counted: they are trimmed on demand). */
  bytesByPurpose(): BytesByPurpose {
    const out = Object.fromEntries(PURPOSES.map((p) => [p, 0])) as BytesByPurpose;
    for (const t of this.live.values()) out[t.purpose] += t.bytes;
    return out;
  }

  totalBytes(): number {
    let n = 0;
    for (const t of this.live.values()) n += t.bytes;
    return n;
  }

  liveCount(): number {
    return this.live.size;
  }

  destroyAll(): void {
    for (const t of this.live.values()) t.buffer.destroy();
    this.live.clear();
    this.trim();
  }
}
