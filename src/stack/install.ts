import { spawnSync } from 'node:child_process';
import { isExecutable } from '../agent/system.js';
import { findOnPath as findExecutable } from '../domain/executables.js';

/** The binaries the stack runs, by the names Debian installs them under (and upstream's, as a fallback). */
export const STACK_BINARIES = {
  prometheus: { names: ['prometheus'], aptPackage: 'prometheus' },
  alertmanager: { names: ['prometheus-alertmanager', 'alertmanager'], aptPackage: 'prometheus-alertmanager' },
} as const;

export type StackBinary = keyof typeof STACK_BINARIES;

/** The first executable named one of `names` on PATH (no PATH: none). */
export function findOnPath(names: readonly string[], path: string | undefined): string | undefined {
  return findExecutable(names, path, isExecutable, '');
}


export interface InstallOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Run apt-get for what is missing; false only reports. */
  readonly install: boolean;
  readonly isRoot: boolean;
  readonly log: (line: string) => void;
}

/**
 * Resolves the Prometheus and Alertmanager binaries; on Debian/Ubuntu installs the packages that are missing
 * (apt-get, through sudo when not root). Throws with the missing package names when it cannot.
 */
export function ensureBinaries(opts: InstallOptions): Record<StackBinary, string> {
  const find = (): Partial<Record<StackBinary, string>> => ({
    prometheus: findOnPath(STACK_BINARIES.prometheus.names, opts.env.PATH),
    alertmanager: findOnPath(STACK_BINARIES.alertmanager.names, opts.env.PATH),
  });
  let found = find();
  const missing = (Object.keys(STACK_BINARIES) as StackBinary[]).filter((b) => found[b] === undefined);
  if (missing.length > 0) {
    const packages = missing.map((b) => STACK_BINARIES[b].aptPackage);
    if (!opts.install) throw new Error(`missing ${packages.join(', ')}: install them (apt-get install ${packages.join(' ')}) or drop --no-install`);
    if (findOnPath(['apt-get'], opts.env.PATH) === undefined) throw new Error(`missing ${packages.join(', ')} and no apt-get here: install them by hand`);
    const sudo = opts.isRoot ? [] : ['sudo'];
    const run = (args: string[]): void => {
      opts.log(`$ ${[...sudo, ...args].join(' ')}`);
      const [cmd = 'apt-get', ...rest] = [...sudo, ...args];
      const r = spawnSync(cmd, rest, { stdio: 'inherit', env: { ...opts.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 15 * 60_000 });
      if (r.error) throw new Error(`${cmd} failed: ${r.error.message}`);
      if (r.status !== 0) throw new Error(`${[cmd, ...rest].join(' ')} exited with ${r.status ?? r.signal}`);
    };
    run(['apt-get', 'update', '-qq']);
    // The packages' post-install scripts may try to start their services; the stack runs its own instances.
    run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...packages]);
    found = find();
  }
  const prometheus = found.prometheus;
  const alertmanager = found.alertmanager;
  if (prometheus === undefined || alertmanager === undefined) throw new Error('prometheus or alertmanager still not on PATH after installing');
  return { prometheus, alertmanager };
}
