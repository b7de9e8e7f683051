/**
 * Session 7, review of the fixes (r1).
 * `TokenRefreshError[Symbol.hasInstance]` (added so that `instanceof` holds across the CommonJS entries' copies of the
 * class) is a static method, inherited by every subclass, and it always tests against `TokenRefreshError` itself: any
 * TokenRefreshError is now `instanceof` any subclass an app made of it.
 */
import { describe, expect, it } from 'vitest';
import { TokenRefreshError } from '../../../src/index.js';

class VendorLockedError extends TokenRefreshError {}

describe('instanceof a subclass of TokenRefreshError', () => {
  it('is false for a plain TokenRefreshError', () => {
    const plain = new TokenRefreshError('REFRESH_FAILED', 'network');
    expect(new VendorLockedError('SESSION_EXPIRED', 'locked') instanceof VendorLockedError).toBe(true);
    expect(plain instanceof TokenRefreshError).toBe(true);
    // What happens: true (the inherited static hasInstance checks TokenRefreshError, not `this`).
    expect(plain instanceof VendorLockedError).toBe(false);
  });
});
