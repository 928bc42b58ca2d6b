// Adapter/device probe and the Gpu context every other GPU module works through: device, probe, buffer pool,
// pipeline cache, uniform and bind-group caches, profiler. One Gpu per device; after a device loss, make a new one.

import { DeviceLostError, GpuUnavailableError } from './errors';
import type { AdapterTraits } from './kernel';
import { PipelineCache } from './pipelines';
import { BufferPool, type BytesByPurpose } from './pool';
import { Profiler } from './profiler';

/** The limits the lab cares about, as the adapter reports them. */
export const LIMITS_SHOWN = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/** Optional features the lab uses, and what each buys. */
export const FEATURES_WANTED: Record<string, string> = {
  'shader-f16': 'native f16 loads (f16 weights still run, unpacked with unpack2x16float)',
  'timestamp-query': 'per-kernel GPU timing',
  subgroups: 'subgroup reductions',
};

export interface AdapterProbe {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallback: boolean;
  features: string[];
  /** Wanted features the adapter lacks, each with what it costs. */
  missing: { feature: string; effect: string }[];
  limits: Record<string, number>;
}

export function probeAdapter(adapter: GPUAdapter): AdapterProbe {
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const features = [...adapter.features].map(String).sort();
  const limits: Record<string, number> = {};
  for (const k of LIMITS_SHOWN) limits[k] = Number((adapter.limits as unknown as Record<string, number>)[k]);
  const isFallback = Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter);
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    isFallback,
    features,
    missing: Object.entries(FEATURES_WANTED)
      .filter(([f]) => !adapter.features.has(f))
      .map(([feature, effect]) => ({ feature, effect: `no ${effect}` })),
    limits,
  };
}

/** A stable string naming the adapter, for caches of per-adapter measurements (autotune, copy bandwidth). */
export function adapterKey(p: AdapterProbe): string {
  return [p.vendor, p.architecture, p.device, p.description, p.isFallback ? 'fallback' : ''].join('/');
}

interface UniformEntry {
  key: string;
  buffer: GPUBuffer;
}

export class Gpu {
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly profiler: Profiler | null;
  readonly traits: AdapterTraits;
  /** Rejects-never promise that resolves when the device is lost. */
  readonly lost: Promise<DeviceLostError>;
  isLost = false;
  /**
   * Test-only: a lower per-tensor byte limit than the adapter's, so tests can force weight splitting with tiny
   * models. null = the adapter's limits alone. Read through maxBindingBytes.
   */
  bindingLimitOverride: number | null = null;
  private uniforms = new Map<string, UniformEntry>();
  private bindGroups = new Map<string, GPUBindGroup>();
  private uniformBytes = 0;

  constructor(readonly device: GPUDevice, readonly probe: AdapterProbe) {
    this.pool = new BufferPool(device, {
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxBufferSize: device.limits.maxBufferSize,
    });
    this.pipelines = new PipelineCache(device);
    this.profiler = device.features.has('timestamp-query') ? new Profiler(device) : null;
    this.traits = {
      isFallback: probe.isFallback,
      hasSubgroups: device.features.has('subgroups'),
      hasF16: device.features.has('shader-f16'),
      maxWorkgroupSize: device.limits.maxComputeInvocationsPerWorkgroup,
      tuned: {},
    };
    this.lost = device.lost.then((info) => {
      this.isLost = true;
      return new DeviceLostError(String(info.reason), info.message);
    });
  }

  /**
   * The most bytes one weight tensor may hold: min(maxStorageBufferBindingSize, maxBufferSize, the test override).
   * Larger weights are split into row chunks (src/model/linear.ts, src/model/embedding-table.ts).
   */
  get maxBindingBytes(): number {
    const l = this.device.limits;
    return Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize, this.bindingLimitOverride ?? Infinity);
  }

  /** A uniform buffer holding exactly `data`, shared by every call with the same contents. */
  uniformBuffer(data: ArrayBuffer): UniformEntry {
    const key = Array.from(new Uint32Array(data)).join(',');
    let e = this.uniforms.get(key);
    if (!e) {
      if (this.uniforms.size > 16384) this.forgetCaches(); // not destroyed: an encoder being recorded may use them
      const buffer = this.device.createBuffer({ size: data.byteLength, usage: 0x40 | 0x08 }); // UNIFORM | COPY_DST
      this.device.queue.writeBuffer(buffer, 0, data);
      e = { key, buffer };
      this.uniforms.set(key, e);
      this.uniformBytes += data.byteLength;
    }
    return e;
  }

  bindGroup(key: string, make: () => GPUBindGroup): GPUBindGroup {
    let g = this.bindGroups.get(key);
    if (!g) {
      if (this.bindGroups.size > 16384) this.bindGroups.clear();
      g = make();
      this.bindGroups.set(key, g);
    }
    return g;
  }

  /** Drop the caches' references without destroying buffers (safe mid-recording; the GC frees them). */
  private forgetCaches(): void {
    this.bindGroups.clear();
    this.uniforms.clear();
    this.uniformBytes = 0;
  }

  /** Forget cached bind groups and uniforms (after re-packing weights, so stale buffers can be collected). */
  clearCaches(): void {
    this.bindGroups.clear();
    for (const e of this.uniforms.values()) e.buffer.destroy();
    this.uniforms.clear();
    this.uniformBytes = 0;
  }

  memory(): BytesByPurpose {
    const m = this.pool.bytesByPurpose();
    m.uniforms += this.uniformBytes;
    return m;
  }

  /** Wait until all submitted work is done. */
  async sync(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
  }

  destroy(): void {
    this.clearCaches();
    this.pool.destroyAll();
    this.profiler?.destroy();
    this.device.destroy();
  }
}

/** Request an adapter and a device with every wanted feature the adapter has and its full limits. */
export async function acquireGpu(gpu: GPU | undefined = (globalThis.navigator as Navigator | undefined)?.gpu): Promise<Gpu> {
  if (!gpu) throw new GpuUnavailableError('WebGPU is not available in this browser (navigator.gpu is missing)');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new GpuUnavailableError('No WebGPU adapter was found (requestAdapter returned null)');
  const probe = probeAdapter(adapter);
  const requiredFeatures = Object.keys(FEATURES_WANTED).filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const k of LIMITS_SHOWN) requiredLimits[k] = probe.limits[k]!;
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  return new Gpu(device, probe);
}
