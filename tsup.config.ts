import { defineConfig, type Options } from 'tsup';

const entry = ['src/index.ts', 'src/browser.ts', 'src/redis.ts', 'src/file.ts', 'src/dpop.ts'];
const shared: Options = {
  entry,
  dts: true,
  sourcemap: false,
  target: 'es2022',
  platform: 'neutral',
  external: ['axios', 'ioredis'],
};

export default defineConfig([
  { ...shared, format: ['esm'], external: ['axios', 'ioredis', 'p-queue'] },
  // p-queue is ESM-only: a CommonJS build that require()s it gets a namespace object without a usable default
  // export, so the CommonJS build carries its own copy.
  { ...shared, format: ['cjs'], noExternal: ['p-queue'] },
]);
