/**
 * Session 7, review of the fixes (r1).
 * `followLinks` resolves the token path through symbolic links at creation, including a link that points at something
 * that is not a regular file. The store then names the link's target as its `<path>`: for a link to a directory (or a
 * device) the STORE_FAILED message tells the user to remove the target ("`/home/me/.config` is not a regular file;
 * remove it", "`/dev/zero` … remove it"), not the link docs/file-store.md promises to name, and the lock files and the
 * reserve file are made beside the target (in `/dev` for a link to `/dev/zero`).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileTokenStore } from '../../../src/file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('a token path that is a link to something that is not a regular file', () => {
  it('names the link, never the target, as the thing to remove, and makes no files beside the target', async () => {
    const root = mkdtempSync(join(tmpdir(), 'r1-link-'));
    dirs.push(root);
    const home = join(root, 'home');
    const config = join(home, 'config'); // a directory of the user's, full of other things
    mkdirSync(config, { recursive: true });
    const app = join(root, 'app');
    mkdirSync(app);
    const link = join(app, 'tokens.json');
    symlinkSync(config, link); // a dotfile manager's mistake: the link points at the directory

    const store = createFileTokenStore({ path: link, watch: false, onWarning: () => undefined });
    try {
      const failure = (await store.read().catch((error: unknown) => error)) as Error;
      expect(failure).toMatchObject({ code: 'STORE_FAILED' });
      // What happens: "`<root>/home/config` is not a regular file; remove it".
      expect(failure.message).toContain(`\`${link}\``);
      expect(failure.message).not.toContain(`\`${config}\``);

      await store.withLock(async () => undefined, { leaseMs: 5_000, waitMs: 1_000 }).catch(() => undefined);
      // What happens: `<root>/home/config.lock` was made (and removed) in the user's `home`, not in the app's folder.
      const made: string[] = [];
      const seen = new Set(readdirSync(home));
      await store
        .withLock(
          async () => {
            for (const name of readdirSync(home)) if (!seen.has(name)) made.push(name);
          },
          { leaseMs: 5_000, waitMs: 1_000 },
        )
        .catch(() => undefined);
      expect(made).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('a link to a file in a directory that does not exist is not followed into a directory the store makes', async () => {
    // docs/file-store.md: "The store creates a missing directory but never the target of a symbolic link: a directory
    // on the path that is a link to something removed fails with ENOENT". A dangling link to a directory does; a token
    // file linked to a file on an unmounted drive (`/media/usb/tokens.json`) has the drive's mount point made instead.
    const root = mkdtempSync(join(tmpdir(), 'r1-link-'));
    dirs.push(root);
    mkdirSync(join(root, 'app'));
    const link = join(root, 'app', 'tokens.json');
    symlinkSync(join(root, 'usb', 'tokens.json'), link);
    const store = createFileTokenStore({ path: link, watch: false, onWarning: () => undefined });
    try {
      const outcome = await store.write({ accessToken: 'a', refreshToken: 'r' }, 0).catch((error: unknown) => error);
      // What happens: written, into `<root>/usb/`, which the store created.
      expect(outcome).toMatchObject({ code: 'STORE_FAILED' });
      expect(existsSync(join(root, 'usb'))).toBe(false);
    } finally {
      await store.close();
    }
  });
});
