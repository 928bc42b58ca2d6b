// Copy spec: the roofline's bandwidth probe, and a no-op dispatch for the per-dispatch cost. shaders/copy.wgsl.
import source from '../../shaders/copy.wgsl?raw';
import { defineKernel, read, readWrite } from '../gpu/kernel';
import { fold } from './common';

const WG = 256;
const PER = 4;

export const copyVec4 = defineKernel({
  name: 'copy',
  source,
  uniforms: [['n', 'u32']],
  bindings: [read('src'), readWrite('dst')],
  variant: (_: { n: number; noop?: boolean }) => ({ entry: _.noop ? 'noop' : 'main', constants: { WG: _.noop ? 1 : WG, PER } }),
  dispatch: (s) => (s.noop ? [1] : fold(Math.ceil(s.n / (WG * PER)))),
});
