import { vi } from 'vitest';

/**
 * Captures the `process.emitWarning` warnings from now on (not printed, so a passing run is quiet). The spy lives until
 * `vi.restoreAllMocks()`.
 */
export function captureWarnings(): Error[] {
  const warnings: Error[] = [];
  vi.spyOn(process, 'emitWarning').mockImplementation((warning: string | Error) => {
    if (warning instanceof Error) warnings.push(warning);
  });
  return warnings;
}
