// PipelineCache: one compute pipeline per pipelineKey(), compiled once per device. Bind group layouts are
// explicit (derived from the spec), so a pipeline's bindings are checked against its spec at creation.

import { type KernelSpec, type Variant, pipelineKey } from './kernel';

export interface CachedPipeline {
  key: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

export class PipelineCache {
  private cache = new Map<string, CachedPipeline>();
  private modules = new Map<string, GPUShaderModule>();
  /** Milliseconds spent creating pipelines (a load-time figure). */
  compileMs = 0;

  constructor(private readonly device: GPUDevice) {}

  get<S>(spec: KernelSpec<S>, variant: Variant): CachedPipeline {
    const key = pipelineKey(spec.name, variant);
    const hit = this.cache.get(key);
    if (hit) return hit;
    const t0 = performance.now();
    let module = this.modules.get(spec.name);
    if (!module) {
      module = this.device.createShaderModule({ label: spec.name, code: spec.source });
      this.modules.set(spec.name, module);
    }
    const entries: GPUBindGroupLayoutEntry[] = [];
    let binding = 0;
    if (spec.uniforms.length) entries.push({ binding: binding++, visibility: 4, buffer: { type: 'uniform' } });
    for (const b of spec.bindings) {
      entries.push({ binding: binding++, visibility: 4, buffer: { type: b.access === 'read' ? 'read-only-storage' : 'storage' } });
    }
    const layout = this.device.createBindGroupLayout({ label: key, entries });
    const pipeline = this.device.createComputePipeline({
      label: key,
      layout: this.device.createPipelineLayout({ label: key, bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: variant.entry ?? 'main', constants: variant.constants },
    });
    this.compileMs += performance.now() - t0;
    const out = { key, pipeline, layout };
    this.cache.set(key, out);
    return out;
  }

  size(): number {
    return this.cache.size;
  }
}
