import { execFileSync } from 'node:child_process';
import { DEFAULT_KERNEL_UNITS, type KernelUnits } from '../procfs/procfs.js';
import { errorMessage } from '../logging/logger.js';

/**
 * The page size of this machine (getconf PAGESIZE; 4096 when getconf is missing). CLK_TCK is 100 on every
 * Linux architecture Node supports. Called once at start by the entry points, never per scrape.
 */
export function detectKernelUnits(): KernelUnits {
  let pageSizeBytes = DEFAULT_KERNEL_UNITS.pageSizeBytes;
  try {
    const out = execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8', timeout: 2000 }).trim();
    if (/^\d+$/.test(out)) pageSizeBytes = Number(out);
  } catch (error) {
    process.emitWarning(`getconf PAGESIZE failed (${errorMessage(error)}); assuming 4096`);
  }
  return { pageSizeBytes, clockTicksPerSecond: 100 };
}
