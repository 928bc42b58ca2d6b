export * from './device';
export * from './errors';
export * from './kernel';
export * from './recorder';
export * from './tensor';
export type { BytesByPurpose } from './pool';
