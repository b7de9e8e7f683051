/**
 * Timing and heap helpers. `--expose-gc` is switched on at run time (V8 accepts the flag late and hands `gc` to a new
 * context), so `npm run bench` needs no node flags.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose_gc');
const forceGc = (globalThis.gc ?? runInNewContext('gc')) as () => void;

/** Nanoseconds since an arbitrary origin, as a number (exact to well below a microsecond for our spans). */
export function now(): number {
  return Number(process.hrtime.bigint());
}

/** Microseconds elapsed since `start` (a value of {@link now}). */
export function elapsedUs(start: number): number {
  return (now() - start) / 1000;
}

/**
 * CPU µs (user + system, all threads of the process) since `start` (a `process.cpuUsage()` value). Unlike wall time it
 * does not count the time other processes held the CPU.
 */
export function cpuUs(start: NodeJS.CpuUsage): number {
  const spent = process.cpuUsage(start);
  return spent.user + spent.system;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * The heap in use after several full collections: one pass can leave garbage that a finalizer or a weak reference
 * released only during that pass, and a few ticks let pending promise jobs and timers settle first.
 */
export async function settledHeapBytes(): Promise<number> {
  for (let pass = 0; pass < 4; pass++) {
    await new Promise((resolve) => setImmediate(resolve));
    forceGc();
  }
  return process.memoryUsage().heapUsed;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
