import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_NODE_FLAGS } from '../../src/agent/node-flags.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** The shipped launcher (package.json "bin"): node with AGENT_NODE_FLAGS and dist/cli/main.js. */
export const HEADROOM_BIN = join(REPO, 'bin', 'headroom');
export const HEADROOM_MAIN = join(REPO, 'dist', 'cli', 'main.js');

/** How the benchmarks start headroom: as shipped, or with the node flags given instead. */
export interface HeadroomLaunch {
  /** The executable to spawn; the PID it gets is the agent's (bin/headroom execs node). */
  readonly command: string;
  /** Arguments before the headroom subcommand ("agent", ...). */
  readonly args: readonly string[];
  /** The node flags in effect. */
  readonly nodeFlags: readonly string[];
  /** For the report. */
  readonly describe: string;
}

/**
 * headroom as shipped (bin/headroom, so with AGENT_NODE_FLAGS), or — when `override` is given, to compare
 * launch settings — `node <override> dist/cli/main.js` (an empty override: node without flags).
 */
export function headroomLaunch(override: readonly string[] | undefined): HeadroomLaunch {
  if (override === undefined) {
    return { command: HEADROOM_BIN, args: [], nodeFlags: AGENT_NODE_FLAGS, describe: `bin/headroom (node ${AGENT_NODE_FLAGS.join(' ')} dist/cli/main.js)` };
  }
  return {
    command: process.execPath,
    args: [...override, HEADROOM_MAIN],
    nodeFlags: override,
    describe: `node ${override.map((o) => `${o} `).join('')}dist/cli/main.js (--headroom-node-options override)`,
  };
}

/**
 * Parses a --headroom-node-options value: "--flag ..." (space-separated node flags), or "none" for node without
 * flags. Throws a message naming the option when a word is not a flag.
 */
export function parseNodeOptions(option: string, value: string): string[] {
  if (value.trim() === 'none') return [];
  const flags = value.split(' ').filter((o) => o !== '');
  for (const o of flags) {
    if (!o.startsWith('--')) throw new Error(`${option}: "${o}" is not allowed; give node flags such as --max-semi-space-size=1, or "none" for node without flags`);
  }
  return flags;
}
