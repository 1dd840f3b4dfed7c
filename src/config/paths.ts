import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from './load.js';
import type { HeadroomConfig } from './schema.js';

/**
 * Checks, at start, that the configured mount points are what they claim to be, so a typo in
 * `--path.procfs` stops the agent with a clear error instead of an agent whose every scrape fails.
 * procfs must have a readable meminfo; cgroupfs must be a readable directory (a machine without cgroups is
 * fine: the cgroups collector reports "no data"); the passwd file may be missing (uids are shown as numbers).
 */
export function checkAgentPaths(config: HeadroomConfig, source: string): void {
  const problems: string[] = [];
  const { procfs, cgroupfs } = config.agent;
  try {
    accessSync(join(procfs, 'meminfo'), constants.R_OK);
  } catch (error) {
    problems.push(`agent.procfs: got "${procfs}"; must be a mounted procfs (cannot read ${join(procfs, 'meminfo')}: ${(error as NodeJS.ErrnoException).code ?? String(error)}); use --path.procfs or agent.procfs`);
  }
  try {
    if (!statSync(cgroupfs).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    accessSync(cgroupfs, constants.R_OK | constants.X_OK);
  } catch (error) {
    problems.push(`agent.cgroupfs: got "${cgroupfs}"; must be the cgroup file system mount point, a readable directory (${(error as NodeJS.ErrnoException).code ?? String(error)}); use --path.cgroupfs or agent.cgroupfs`);
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
}
