export { cacheDir, cacheRoot, contentHash, repoRoot, run, tail } from './cache.js';
export * from './otlp-receiver.js';
export * from './profile-receiver.js';
export * from './prometheus.js';
export * from './launcher.js';
export type { AppSpec } from './app-spec.js';
