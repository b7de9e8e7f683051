/** The sizes of every scenario, shared by run.ts and check.ts so that both measure the same thing. */
export const settings = {
  happy: { rounds: 40, requestsPerRound: 500, inFlight: 100, warmupRequests: 3000 },
  burstRequests: 10_000,
  staggered: { durationMs: 1200, waveEveryMs: 4, waveSize: 10, tokenLatencyMs: 20 },
  churnOurs: { cycles: 10_000, requestsPerCycle: 50, heapMarks: [1_000, 5_000, 10_000] },
  churnOthers: { cycles: 500, requestsPerCycle: 50, heapMarks: [100, 500] },
  scale: [
    { requests: 1_000, repeats: 7 },
    { requests: 10_000, repeats: 3 },
    { requests: 100_000, repeats: 1 },
  ],
  sharing: { contexts: 4, perContext: 2_500 },
} as const;
