import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { hardenAgent } from '../../src/guard/harden.js';
import { memoryLogger } from '../../src/logging/logger.js';
import { NodeFileReader } from '../../src/procfs/file-reader.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { startAgentProcess } from '../support/cli.js';

const proc = new ProcFs('/proc', new NodeFileReader());
const dir = mkdtempSync(join(tmpdir(), 'headroom-harden-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Records what hardening asked the system for, instead of doing it. */
function recordingSystem(failPriority = false): { calls: string[]; writeFile: (path: string, text: string) => void; setPriority: (pid: number, priority: number) => void } {
  const calls: string[] = [];
  return {
    calls,
    writeFile: (path, text) => void calls.push(`write ${path} ${text}`),
    setPriority: (pid, priority) => {
      if (failPriority) throw new Error('EACCES: permission denied');
      calls.push(`priority ${pid} ${priority}`);
    },
  };
}

describe('guard.harden_self: the agent raises its CPU priority and lowers its oom_score_adj at start', () => {
  it('whenever it can remediate: the receiver alone, the guard alone, both', () => {
    for (const raw of [{ receiver: { enabled: true } }, { guard: { enabled: true } }, { receiver: { enabled: true }, guard: { enabled: true } }]) {
      const system = recordingSystem();
      const steps = hardenAgent(parseConfig(raw, 'test'), 4242, proc, system, memoryLogger());
      expect(steps).toEqual(['oom_score_adj -900', 'nice -5']);
      expect(system.calls).toEqual(['write /proc/4242/oom_score_adj -900', 'priority 4242 -5']);
    }
  });

  it('not for an exporter-only agent, nor with harden_self: false', () => {
    for (const raw of [{}, { receiver: { enabled: true }, guard: { harden_self: false } }, { guard: { enabled: true, harden_self: false } }]) {
      const system = recordingSystem();
      expect(hardenAgent(parseConfig(raw, 'test'), 4242, proc, system, memoryLogger())).toEqual([]);
      expect(system.calls).toEqual([]);
    }
  });

  it('a missing privilege is logged and the rest still done', () => {
    const logger = memoryLogger();
    const system = recordingSystem(true);
    expect(hardenAgent(parseConfig({ receiver: { enabled: true } }, 'test'), 4242, proc, system, logger)).toEqual(['oom_score_adj -900']);
    expect(logger.lines.find((l) => String(l.msg).includes('CPU priority'))).toMatchObject({ error: 'EACCES: permission denied' });
  });

  it('the real agent with only the receiver on raises its priority to nice -5 and lowers oom_score_adj to -900 (each when it has the capability)', async () => {
    writeFileSync(join(dir, 'token'), 'harden-test-token');
    const config = join(dir, 'headroom.yml');
    writeFileSync(config, `receiver:\n  enabled: true\n  auth:\n    token_file: ${join(dir, 'token')}\nremediation:\n  state_dir: ${join(dir, 'state')}\n`);
    const agent = await startAgentProcess(['--listen', '127.0.0.1:0', '--config', config]);
    try {
      const pid = agent.child.pid;
      if (pid === undefined) throw new Error('no PID');
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]);
      const oom = readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim();
      // The agent inherits this process's capabilities: CAP_SYS_NICE (23) to raise its priority, CAP_SYS_RESOURCE
      // (24) to lower its oom_score_adj. Without one, that step is logged at start and skipped.
      const caps = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'}`);
      const has = (bit: bigint): boolean => ((caps >> bit) & 1n) === 1n;
      if (has(23n)) {
        expect(nice).toBe(-5);
        expect(agent.logs()).toMatch(/"msg":"agent hardened","steps":\[[^\]]*"nice -5"/);
      } else {
        process.stdout.write('SKIP harden.test.ts nice -5: no CAP_SYS_NICE here, the agent cannot raise its priority\n');
        expect(nice).toBe(getPriority());
        expect(agent.logs()).toContain("could not raise the agent's CPU priority");
      }
      if (has(24n)) {
        expect(oom).toBe('-900');
      } else {
        process.stdout.write('SKIP harden.test.ts oom_score_adj -900: no CAP_SYS_RESOURCE here, the agent cannot lower it\n');
        expect(agent.logs()).toContain("could not lower the agent's oom_score_adj");
      }
    } finally {
      agent.child.kill('SIGTERM');
      await new Promise((r) => agent.child.once('exit', r));
    }
  });
});
