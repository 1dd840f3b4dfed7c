import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfigWithOverrides } from '../../config/load.js';
import { parseDuration } from '../../config/units.js';
import { UsageError } from '../errors.js';
import type { World } from '../world.js';

interface StatusOptions {
  config?: string;
  stateDir?: string;
  json?: boolean;
  watch?: boolean;
  interval?: string;
  width?: string;
  sampleFile?: string;
  'path.procfs'?: string;
  'path.cgroupfs'?: string;
}

/**
 * `headroom status`: what is happening on this machine now, without a server — memory, swap, pressure, the five
 * largest process trees with their growth since the last look, the jobs of `headroom run` and their limits,
 * whether the agent and its guard run, the last incidents and the outbox. Read straight from /proc, the
 * cgroup file system and the agent's state files.
 */
export function registerStatus(program: Command, world: World): void {
  program
    .command('status')
    .description('memory, pressure, largest process trees, jobs, agent/guard and last incidents, read from /proc now')
    .option('--config <file>', 'YAML config file (state directories, thresholds, run.cgroup_parent)')
    .option('--state-dir <dir>', 'the agent\'s state directory (default: remediation.state_dir)')
    .option('--json', 'print the status as one JSON document')
    .option('--watch', 'refresh in place until Ctrl-C')
    .option('--interval <duration>', 'refresh interval with --watch', '2s')
    .option('--width <columns>', 'cut lines to this width (default: the terminal\'s, else 120)')
    .option('--sample-file <file>', 'where the last sample is kept for growth (default: <state dir>/status-sample.json)')
    .option('--path.procfs <dir>', 'procfs mount point (default /proc)')
    .option('--path.cgroupfs <dir>', 'cgroup file system mount point (default /sys/fs/cgroup)')
    .action(async (opts: StatusOptions) => {
      const config = loadConfigWithOverrides(opts.config, { agent: { procfs: opts['path.procfs'], cgroupfs: opts['path.cgroupfs'] } });
      const intervalMs = parseDuration(opts.interval ?? '2s');
      if (!intervalMs.ok || intervalMs.value < 100) throw new UsageError(`--interval ${opts.interval ?? ''}: give a duration of at least 100ms, e.g. 2s`);
      const width = opts.width === undefined ? undefined : Number(opts.width);
      if (width !== undefined && !(Number.isInteger(width) && width >= 40)) throw new UsageError(`--width ${opts.width ?? ''}: give a number of columns, at least 40`);
      // Loaded on use: `headroom status` must start fast when memory is short.
      const [{ runStatus }, { detectKernelUnits }] = await Promise.all([import('../../status/run.js'), import('../kernel-units.js')]);
      const stateDir = opts.stateDir ?? config.remediation.state_dir;
      await runStatus({
        config,
        world,
        units: detectKernelUnits(),
        hostname: hostname(),
        stateDir,
        sampleFile: opts.sampleFile ?? join(stateDir, 'status-sample.json'),
        json: opts.json === true,
        watch: opts.watch === true,
        intervalMs: intervalMs.value,
        width: () => width ?? ((world.stdout as { columns?: number }).columns || 120),
      });
    });
}
