// Recorder: the one generic dispatcher. It encodes kernel calls into a single command encoder (one per decode
// step), packs uniforms, caches bind groups, and — when profiling — wraps each dispatch in its own pass with
// timestamp writes so the profile can attribute GPU time to kernel families.

import type { Gpu } from './device';
import { type KernelSpec, packUniforms, type Variant } from './kernel';
import type { GpuTensor } from './tensor';

export class Recorder {
  readonly encoder: GPUCommandEncoder;
  private pass: GPUComputePassEncoder | null = null;
  private readonly profiling: boolean;
  /** Kernel family of each profiled dispatch, in order. */
  private readonly profiled: string[] = [];
  dispatches = 0;

  constructor(private readonly gpu: Gpu, profile = false) {
    this.encoder = gpu.device.createCommandEncoder();
    this.profiling = profile && gpu.profiler !== null;
  }

  /** Encode one kernel call. `tensors` maps each binding name of the spec to a tensor. */
  run<S, V extends Variant>(
    spec: KernelSpec<S, V>,
    shape: S,
    tensors: Record<string, GpuTensor>,
    uniforms: Record<string, number> = {},
    variant: V = spec.variant(shape, this.gpu.traits),
  ): void {
    const cached = this.gpu.pipelines.get(spec, variant);
    const ubuf = spec.uniforms.length ? this.gpu.uniformBuffer(packUniforms(spec.uniforms, uniforms)) : null;
    const ids: (number | string)[] = [cached.key, ubuf?.key ?? ''];
    for (const b of spec.bindings) {
      const t = tensors[b.name];
      if (!t) throw new Error(`kernel ${spec.name}: no tensor bound to '${b.name}'`);
      ids.push(t.id);
    }
    const bindGroup = this.gpu.bindGroup(ids.join('|'), () => {
      const entries: GPUBindGroupEntry[] = [];
      let binding = 0;
      if (ubuf) entries.push({ binding: binding++, resource: { buffer: ubuf.buffer } });
      for (const b of spec.bindings) entries.push({ binding: binding++, resource: { buffer: tensors[b.name]!.buffer } });
      return this.gpu.device.createBindGroup({ label: cached.key, layout: cached.layout, entries });
    });
    const [x, y = 1, z = 1] = spec.dispatch(shape, variant);
    if (x === 0 || y === 0 || z === 0) return;
    const limit = this.gpu.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > limit || y > limit || z > limit) {
      throw new Error(`kernel ${cached.key}: dispatch (${x}, ${y}, ${z}) exceeds maxComputeWorkgroupsPerDimension ${limit}`);
    }
    let pass: GPUComputePassEncoder;
    if (this.profiling && this.gpu.profiler!.hasRoom(this.profiled.length)) {
      const i = this.profiled.length;
      this.profiled.push(spec.name);
      pass = this.encoder.beginComputePass({ timestampWrites: this.gpu.profiler!.writes(i) });
    } else {
      pass = this.pass ??= this.encoder.beginComputePass();
    }
    pass.setPipeline(cached.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    if (pass !== this.pass) pass.end();
    this.dispatches++;
  }

  /** Copy bytes between tensors (ends the open pass: copies cannot sit inside a compute pass). */
  copy(src: GpuTensor, dst: GpuTensor, bytes = Math.min(src.bytes, dst.bytes), srcOffset = 0, dstOffset = 0): void {
    this.endPass();
    this.encoder.copyBufferToBuffer(src.buffer, srcOffset, dst.buffer, dstOffset, bytes);
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Finish and submit. Resolves, when profiling, to GPU nanoseconds per kernel family. */
  submit(): Promise<Map<string, number>> | null {
    this.endPass();
    const profiler = this.profiling && this.profiled.length ? this.gpu.profiler! : null;
    if (profiler) profiler.resolve(this.encoder, this.profiled.length);
    this.gpu.device.queue.submit([this.encoder.finish()]);
    return profiler ? profiler.collect(this.profiled) : null;
  }
}
