import { delimiter, join } from 'node:path';

/** PATH when none is set (as `command -v` assumes). */
export const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * The first executable on PATH named one of `names` (in PATH order, then name order), like `command -v`;
 * a name with a slash is taken as it is. Pure over the given `isExecutable` check. The one lookup for
 * `headroom run` (systemd-run, the job's program) and `headroom stack` (prometheus, alertmanager, apt-get).
 */
export function findOnPath(names: string | readonly string[], path: string | undefined, isExecutable: (file: string) => boolean, whenUnset = DEFAULT_PATH): string | undefined {
  const list = typeof names === 'string' ? [names] : names;
  for (const name of list) if (name.includes('/') && isExecutable(name)) return name;
  for (const dir of (path ?? whenUnset).split(delimiter)) {
    if (dir.length === 0) continue;
    for (const name of list) {
      if (name.includes('/')) continue;
      const candidate = join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}
