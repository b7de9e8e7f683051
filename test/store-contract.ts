import { describe, expect, it } from 'vitest';
import type { StoredTokens, TokenStore } from '../src/store.js';
import type { TokenSet } from '../src/tokens.js';

/** Two handles on one shared store (for an unshared store, the same object twice), and how to dispose of them. */
export interface StorePair {
  readonly a: TokenStore;
  readonly b: TokenStore;
  /** Resolves once the subscriptions made so far take effect (a Redis SUBSCRIBE is a round trip). */
  subscribed?(): Promise<void>;
  dispose(): Promise<void>;
}

/** What the implementation under test promises beyond the core contract. */
export interface StoreCapabilities {
  /** `withLock` gives up after `waitMs` while someone else holds the lock. */
  readonly waitTimeout: boolean;
  /** A holder loses the lock after `leaseMs`: its signal aborts and others may take it. */
  readonly leaseExpiry: boolean;
  /** `subscribe` delivers writes made through the other handle, and not one's own. */
  readonly subscribe: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const T1: TokenSet = { accessToken: 'access-1', refreshToken: 'refresh-1', expiresAt: 1_900_000_000_000 };
const T2: TokenSet = { accessToken: 'access-2', refreshToken: 'refresh-2', expiresAt: 1_900_000_060_000 };

const LONG = { leaseMs: 10_000, waitMs: 10_000 } as const;

/** Waits until `check` passes, for at most `ms`. */
async function eventually(check: () => void, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(10);
    }
  }
}

/**
 * The TokenStore contract as a reusable suite: every store the session may be given must pass it.
 *
 * @param name - the implementation, for the describe block.
 * @param open - makes a fresh, empty shared store (a new key) and two handles on it.
 * @param capabilities - which optional parts of the contract the implementation offers.
 */
export function describeTokenStoreContract(
  name: string,
  open: () => Promise<StorePair>,
  capabilities: StoreCapabilities,
): void {
  const withPair = (test: (pair: StorePair) => Promise<void>) => async () => {
    const pair = await open();
    try {
      await test(pair);
    } finally {
      await pair.dispose();
    }
  };

  describe(`${name} (TokenStore contract)`, () => {
    describe('read()', () => {
      it(
        'starts at version 0 with no tokens',
        withPair(async ({ a }) => {
          expect(await a.read()).toEqual({ tokens: null, version: 0 });
        }),
      );
    });

    describe('write(tokens, expectedVersion)', () => {
      it(
        'writes when the version matches and returns the next version, which every handle then reads',
        withPair(async ({ a, b }) => {
          expect(await a.write(T1, 0)).toEqual({ tokens: T1, version: 1 });
          expect(await b.read()).toEqual({ tokens: T1, version: 1 });
          expect(await b.write(T2, 1)).toEqual({ tokens: T2, version: 2 });
          expect(await a.read()).toEqual({ tokens: T2, version: 2 });
        }),
      );

      it(
        'keeps every TokenSet member, including extra',
        withPair(async ({ a, b }) => {
          const full: TokenSet = {
            ...T1,
            tokenType: 'DPoP',
            scope: 'read write',
            idToken: 'id-1',
            extra: { refresh_expires_in: 1800, nested: { ok: true } },
          };
          await a.write(full, 0);
          expect((await b.read()).tokens).toEqual(full);
        }),
      );

      it(
        'writes nothing and returns null when the version moved on (a slow writer cannot overwrite newer tokens)',
        withPair(async ({ a, b }) => {
          await a.write(T1, 0);
          await a.write(T2, 1);
          expect(await b.write({ accessToken: 'stale' }, 1)).toBeNull();
          expect(await b.write({ accessToken: 'stale' }, 0)).toBeNull();
          expect(await a.read()).toEqual({ tokens: T2, version: 2 });
        }),
      );

      it(
        'lets exactly one of 20 concurrent writers with the same expected version win',
        withPair(async ({ a, b }) => {
          await a.write(T1, 0);
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).write({ accessToken: `w${i}` }, 1)),
          );
          const winners = results.filter((result): result is StoredTokens => result !== null);
          expect(winners).toHaveLength(1);
          expect(winners[0]?.version).toBe(2);
          expect(await b.read()).toEqual(winners[0]);
        }),
      );

      it(
        'stores null (logged out) as a version like any other',
        withPair(async ({ a, b }) => {
          await a.write(T1, 0);
          expect(await b.write(null, 1)).toEqual({ tokens: null, version: 2 });
          expect(await a.read()).toEqual({ tokens: null, version: 2 });
        }),
      );
    });

    describe('withLock(task, options)', () => {
      it(
        "resolves with the task's result and passes a signal that has not fired",
        withPair(async ({ a }) => {
          const result = await a.withLock(async ({ signal }) => {
            expect(signal.aborted).toBe(false);
            return 42;
          }, LONG);
          expect(result).toBe(42);
        }),
      );

      it(
        'runs one task at a time across all handles (12 contenders)',
        withPair(async ({ a, b }) => {
          let running = 0;
          let most = 0;
          let done = 0;
          await Promise.all(
            Array.from({ length: 12 }, (_, i) =>
              (i % 2 === 0 ? a : b).withLock(async () => {
                running += 1;
                most = Math.max(most, running);
                await sleep(5);
                running -= 1;
                done += 1;
              }, LONG),
            ),
          );
          expect(most).toBe(1);
          expect(done).toBe(12);
        }),
      );

      it(
        "rejects with the task's error and frees the lock for the next holder",
        withPair(async ({ a, b }) => {
          const failure = new Error('task failed');
          await expect(
            a.withLock(async () => {
              throw failure;
            }, LONG),
          ).rejects.toBe(failure);
          await expect(b.withLock(async () => 'next', { leaseMs: 10_000, waitMs: 2000 })).resolves.toBe('next');
        }),
      );

      it(
        'lets a waiter in as soon as the holder finishes, with the writes of the holder visible to it',
        withPair(async ({ a, b }) => {
          let release!: () => void;
          const held = new Promise<void>((resolve) => (release = resolve));
          let entered!: () => void;
          const holding = new Promise<void>((resolve) => (entered = resolve));
          const holder = a.withLock(async () => {
            entered();
            await held;
            await a.write(T1, 0);
          }, LONG);
          await holding;
          const waiter = b.withLock(async () => b.read(), LONG);
          release();
          await holder;
          expect(await waiter).toEqual({ tokens: T1, version: 1 });
        }),
      );

      if (capabilities.waitTimeout) {
        it(
          'rejects after waitMs while another holder keeps the lock, without running the task',
          withPair(async ({ a, b }) => {
            let release!: () => void;
            let entered!: () => void;
            const holding = new Promise<void>((resolve) => (entered = resolve));
            const holder = a.withLock(
              () =>
                new Promise<void>((resolve) => {
                  release = resolve;
                  entered();
                }),
              LONG,
            );
            await holding;
            let ran = false;
            await expect(
              b.withLock(
                async () => {
                  ran = true;
                },
                { leaseMs: 10_000, waitMs: 150 },
              ),
            ).rejects.toThrow(/lock/i);
            expect(ran).toBe(false);
            release();
            await holder;
          }),
        );
      }

      if (capabilities.leaseExpiry) {
        it(
          'aborts the signal of a holder whose lease ran out and lets another holder in',
          withPair(async ({ a, b }) => {
            let signal: AbortSignal | undefined;
            let entered!: () => void;
            const holding = new Promise<void>((resolve) => (entered = resolve));
            let finish!: () => void;
            const slow = a.withLock(
              async (context) => {
                signal = context.signal;
                entered();
                await new Promise<void>((resolve) => (finish = resolve));
              },
              { leaseMs: 200, waitMs: 1000 },
            );
            await holding;
            const next = await b.withLock(async () => 'taken over', { leaseMs: 10_000, waitMs: 5000 });
            expect(next).toBe('taken over');
            await eventually(() => expect(signal?.aborted).toBe(true));
            finish();
            await slow;
          }),
        );

        it(
          "does not free the next holder's lock when a holder whose lease ran out finishes late",
          withPair(async ({ a, b }) => {
            let finishA!: () => void;
            let enteredA!: () => void;
            const holdingA = new Promise<void>((resolve) => (enteredA = resolve));
            const slow = a.withLock(
              async () => {
                enteredA();
                await new Promise<void>((resolve) => (finishA = resolve));
              },
              { leaseMs: 150, waitMs: 1000 },
            );
            await holdingA;
            let finishB!: () => void;
            let enteredB!: () => void;
            const holdingB = new Promise<void>((resolve) => (enteredB = resolve));
            const second = b.withLock(
              async () => {
                enteredB();
                await new Promise<void>((resolve) => (finishB = resolve));
              },
              { leaseMs: 10_000, waitMs: 5000 },
            );
            await holdingB;
            finishA();
            await slow;
            // A's late release must not have deleted B's lock: a third contender still has to wait.
            let third = false;
            await expect(
              a.withLock(
                async () => {
                  third = true;
                },
                { leaseMs: 10_000, waitMs: 200 },
              ),
            ).rejects.toThrow(/lock/i);
            expect(third).toBe(false);
            finishB();
            await second;
          }),
        );
      }
    });

    if (capabilities.subscribe) {
      describe('subscribe(listener)', () => {
        it(
          "delivers the other handle's writes with their version, not one's own, until unsubscribed",
          withPair(async (pair) => {
            const { a, b } = pair;
            const heardByB: StoredTokens[] = [];
            const heardByA: StoredTokens[] = [];
            const stopB = b.subscribe!((stored) => heardByB.push(stored));
            const stopA = a.subscribe!((stored) => heardByA.push(stored));
            await pair.subscribed?.();
            await a.write(T1, 0);
            await eventually(() => expect(heardByB).toEqual([{ tokens: T1, version: 1 }]));
            stopB();
            await a.write(T2, 1);
            await b.write(null, 2);
            await eventually(() => expect(heardByA).toEqual([{ tokens: null, version: 3 }]));
            await sleep(50);
            expect(heardByB).toEqual([{ tokens: T1, version: 1 }]);
            stopA();
          }),
        );
      });
    }
  });
}
