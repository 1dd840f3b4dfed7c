import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AGENT_NODE_FLAGS } from '../../src/agent/node-flags.js';
import { requireBuiltCli } from '../support/cli.js';

const repo = (...parts: string[]): string => fileURLToPath(new URL(`../../${parts.join('/')}`, import.meta.url));
const read = (...parts: string[]): string => readFileSync(repo(...parts), 'utf8');

describe('every documented launch of the agent uses AGENT_NODE_FLAGS', () => {
  it('sets no hard heap limit (a receiver flood must not make V8 abort the agent)', () => {
    expect(AGENT_NODE_FLAGS.length).toBeGreaterThan(0);
    for (const flag of AGENT_NODE_FLAGS) expect(flag).not.toMatch(/max-old-space-size|max-heap-size/);
  });

  it('bin/headroom (package.json "bin") runs node with the flags', () => {
    expect(read('bin', 'headroom')).toContain(`exec node ${AGENT_NODE_FLAGS.join(' ')} "$(dirname "$self")/../dist/cli/main.js" "$@"`);
    const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string>; files: string[] };
    expect(pkg.bin).toEqual({ headroom: 'bin/headroom' });
    expect(pkg.files).toContain('bin');
  });

  it('the systemd unit and the Docker image use the same flags', () => {
    expect(read('deploy', 'systemd', 'headroom-agent.service')).toMatch(
      new RegExp(`^ExecStart=/usr/bin/node ${AGENT_NODE_FLAGS.join(' ')} /opt/headroom/dist/cli/main\\.js agent `, 'm'),
    );
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(read('Dockerfile'))?.[1];
    expect(JSON.parse(entrypoint ?? 'null')).toEqual(['node', ...AGENT_NODE_FLAGS, '/opt/headroom/dist/cli/main.js']);
  });
});

describe('bin/headroom', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('works through a chain of symbolic links (npm link) and starts node with the flags', async () => {
    requireBuiltCli();
    const dir = mkdtempSync(join(tmpdir(), 'headroom-bin-'));
    dirs.push(dir);
    symlinkSync(repo('bin', 'headroom'), join(dir, 'first'));
    symlinkSync('first', join(dir, 'headroom'));
    // The agent prints its node flags nowhere, so read them from /proc/PID/cmdline of the running process
    // (bin/headroom execs node: same PID).
    const child = spawn(join(dir, 'headroom'), ['agent', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      let err = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`agent did not start: ${err}`)), 20_000);
        child.stderr.on('data', (chunk: Buffer) => {
          err += chunk.toString();
          if (err.includes('"msg":"agent listening"')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`agent exited with ${code}: ${err}`));
        });
      });
      const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
      expect(argv.slice(1, 1 + AGENT_NODE_FLAGS.length)).toEqual([...AGENT_NODE_FLAGS]);
      expect(argv[1 + AGENT_NODE_FLAGS.length]).toMatch(/\/bin\/\.\.\/dist\/cli\/main\.js$/);
      expect(argv.slice(2 + AGENT_NODE_FLAGS.length, 4 + AGENT_NODE_FLAGS.length)).toEqual(['agent', '--listen']);
    } finally {
      // Only the process this test started, by PID; wait for it to stop.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
  }, 30_000);
});
