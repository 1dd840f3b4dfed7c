import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { formatBytes } from '../../config/units.js';
import type { IncidentStore } from '../../incidents/store.js';
import type { IncidentRecord } from '../../incidents/types.js';
import { UsageError } from '../errors.js';
import type { World } from '../world.js';

interface Options {
  config?: string;
  stateDir?: string;
  json?: boolean;
}

/** The incident store (loaded on use: `headroom agent`, the long-running process, never needs it). */
async function store(opts: Options): Promise<IncidentStore> {
  const stateDir = opts.stateDir ?? loadConfig(opts.config).remediation.state_dir;
  const { IncidentStore } = await import('../../incidents/store.js');
  return new IncidentStore(join(stateDir, 'incidents'));
}

/** One line per incident: id, time, action/result, target, freed memory. */
export function formatIncidentList(records: readonly IncidentRecord[]): string {
  if (records.length === 0) return 'no incidents\n';
  const rows = records.map((r) => {
    const target = r.target.process ? `PID ${r.target.process.pid} ${r.target.process.cmdline}` : `cgroup ${r.target.cgroup ?? '?'}`;
    const freed = r.freedBytes === undefined ? '' : ` freed ${formatBytes(r.freedBytes)}`;
    return `${r.id}  ${r.timeline.action.slice(0, 19).replace('T', ' ')}  ${r.action}${r.dryRun ? ' (dry run)' : ''} ${r.result}${freed}  ${target.slice(0, 80)}`;
  });
  return `${rows.join('\n')}\n`;
}

/** `headroom incidents` lists the remediation incident reports; `headroom incidents show ID` prints one. */
export function registerIncidents(program: Command, world: World): void {
  const incidents = program
    .command('incidents')
    .description('list remediation incident reports (newest last)')
    .option('--config <file>', 'YAML config file (for remediation.state_dir)')
    .option('--state-dir <dir>', 'state directory (default: remediation.state_dir, /var/lib/headroom)')
    .option('--json', 'print the index records as JSON lines')
    .action(async (opts: Options) => {
      const records = (await store(opts)).list();
      world.stdout.write(opts.json ? records.map((r) => `${JSON.stringify(r)}\n`).join('') : formatIncidentList(records));
    });
  incidents
    .command('show')
    .description('print one incident report (Markdown)')
    .argument('<id>', 'incident id, as listed by `headroom incidents`')
    .option('--config <file>', 'YAML config file (for remediation.state_dir)')
    .option('--state-dir <dir>', 'state directory')
    .exitOverride()
    .action(async (id: string, opts: Options) => {
      const merged = { ...incidents.opts<Options>(), ...opts };
      const { isIncidentId } = await import('../../incidents/store.js');
      if (!isIncidentId(id)) throw new UsageError(`"${id}" is not an incident id; run \`headroom incidents\` to list them`);
      const text = (await store(merged)).show(id);
      if (text === undefined) throw new UsageError(`no incident ${id}; run \`headroom incidents\` to list them`);
      world.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    });
}
