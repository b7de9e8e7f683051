// Session 7 break-it review.
// Finding (h3): a token file that is a symlink (dotfiles managed with GNU stow / chezmoi / home-manager, or a path
// linked into a synced folder). docs/file-store.md says "The token file must be a regular file (or a symlink to one)".
// The store's write renames its temporary file over the *link*, so the link is replaced by a regular file: the link's
// target keeps the old record (a spent refresh token and a still-valid access token, even after a logout), and
// processes that use the target's own path lock a different `<path>.lock` and present the same refresh token again.
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTokenSession } from '../../src/index.js';
import type { TokenSet } from '../../src/index.js';
import { createFileTokenStore } from '../../src/file.js';

const root = mkdtempSync(join(tmpdir(), 'axios-token-refresh-found-symlink-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** `<root>/dotfiles-N/tokens.json` (the real file) and `<root>/config-N/tokens.json` (a symlink to it). */
function linkedTokenFile(initial: TokenSet): { real: string; link: string } {
  n += 1;
  const realDir = join(root, `dotfiles-${n}`);
  const linkDir = join(root, `config-${n}`);
  mkdirSync(realDir, { mode: 0o700 });
  mkdirSync(linkDir, { mode: 0o700 });
  const real = join(realDir, 'tokens.json');
  const link = join(linkDir, 'tokens.json');
  writeFileSync(real, JSON.stringify({ version: 1, tokens: initial }), { mode: 0o600 });
  symlinkSync(real, link);
  return { real, link };
}

describe('createFileTokenStore() with a token file that is a symlink to a regular file (documented as supported)', () => {
  it('writes through the link: the link stays a link, and the file it points to holds the new record', async () => {
    const { real, link } = linkedTokenFile({ accessToken: 'a1', refreshToken: 'r1' });
    const store = createFileTokenStore({ path: link });
    expect((await store.read()).version).toBe(1);
    await store.write({ accessToken: 'a2', refreshToken: 'r2' }, 1);
    await store.close();
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(real, 'utf8')).tokens.refreshToken).toBe('r2');
  });

  it('after a logout through the link, no copy of the tokens is left in the file the link pointed to', async () => {
    const { real, link } = linkedTokenFile({ accessToken: 'still-valid-access', refreshToken: 'r1' });
    const store = createFileTokenStore({ path: link });
    await store.write(null, 1, 'logout');
    await store.close();
    expect(readFileSync(real, 'utf8')).not.toContain('still-valid-access');
  });

  it('presents a refresh token once when one process names the link and another the file it points to', async () => {
    const { real, link } = linkedTokenFile({ accessToken: 'a0', refreshToken: 'r0', expiresAt: Date.now() - 1000 });
    const presented: string[] = [];
    let next = 0;
    const refresh = async (current: TokenSet): Promise<TokenSet> => {
      presented.push(current.refreshToken ?? '');
      await new Promise((resolve) => setTimeout(resolve, 100)); // the token endpoint's round trip
      next += 1;
      return { accessToken: `a${next}`, refreshToken: `r${next}`, expiresAt: Date.now() + 3_600_000 };
    };
    const viaLink = createFileTokenStore({ path: link });
    const viaReal = createFileTokenStore({ path: real });
    const one = createTokenSession({ store: viaLink, refresh });
    const two = createTokenSession({ store: viaReal, refresh });
    await Promise.allSettled([one.refresh(), two.refresh()]);
    await Promise.all([viaLink.close(), viaReal.close()]);
    expect(presented.filter((token) => token === 'r0')).toHaveLength(1);
  });
});
