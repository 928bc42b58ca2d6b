import { describe, expect, it } from 'vitest';
import { Recorder } from '../../src/gpu/recorder';
import { copyVec4 } from '../../src/kernels/copy';
import { randn } from '../../src/ref/random';
import { getGpu, poison } from './harness';

describe('copy (roofline probe) is an exact copy', () => {
  for (const n of [1, 3, 255, 1025, 4099]) {
    it(`n=${n} vec4s`, async () => {
      const gpu = await getGpu();
      const data = randn(n * 4, n);
      const src = gpu.pool.fromArray('src', [n * 4], data, 'activations');
      const dst = gpu.pool.alloc('dst', [n * 4], 'f32', 'activations');
      poison(gpu, dst);
      const rec = new Recorder(gpu);
      rec.run(copyVec4, { n }, { src, dst }, { n });
      rec.run(copyVec4, { n, noop: true }, { src, dst }, { n }); // the no-op writes nothing
      rec.submit();
      expect(Array.from(await gpu.pool.readF32(dst))).toEqual(Array.from(data));
      gpu.pool.release(src);
      gpu.pool.release(dst);
    });
  }
});
