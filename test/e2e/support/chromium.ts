import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`): the only browser these machines can install. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Launches Debian's Chromium headless, as the e2e browser suite and the bench's browser-tabs row both need it: no
 * sandbox (root in CI), and nothing that would reach the network on its own.
 *
 * @param timeoutMs - how long the launch may take before it fails.
 */
export function launchChromium(timeoutMs = 30_000): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: timeoutMs,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
