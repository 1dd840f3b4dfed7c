import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipSuite } from '../support/suites.js';

/**
 * `headroom jobs` on real logs: three real `headroom run` runs of one job (inside hard-limited v1 cgroups that
 * headroom run itself creates: 128 MiB, the last one 100 MiB and over it), written to the default history
 * location of a config (no --log); then `headroom jobs --json` must agree with the runs' own summary lines.
 */
const MEMORY = '/sys/fs/cgroup/memory';
const CLI = join(import.meta.dirname, '../../dist/cli/main.js');
const canRun = process.getuid?.() === 0 && existsSync(join(MEMORY, 'memory.limit_in_bytes'));
if (!canRun) console.log('SKIP test/jobs/jobs-real.test.ts: needs root and the cgroup v1 memory controller');

const MiB = 1024 * 1024;
let tmp = '';
const name = `t-jobs-${randomBytes(3).toString('hex')}`;

function cli(args: string[], limitMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`headroom ${args[0] ?? ''} did not finish within ${limitMs} ms`));
    }, limitMs);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

const hog = (mib: number): string => `b = bytearray(${mib} << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nimport time; time.sleep(1.2)`;

describe.skipIf(skipSuite('jobs-cgroup-v1'))('headroom jobs on logs of real headroom run runs', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    tmp = mkdtempSync(join(tmpdir(), 'headroom-evidence-jobs-'));
    writeFileSync(join(tmp, 'config.yml'), `remediation:\n  state_dir: ${join(tmp, 'state')}\nrun:\n  history_dir: ${join(tmp, 'runs')}\n  sample_interval: 200ms\n`);
  });
  afterAll(() => {
    // headroom run removes its own cgroups; make sure, then remove the temp dir.
    const slice = join(MEMORY, 'headroom.slice');
    if (existsSync(slice)) for (const d of readdirSync(slice)) if (d.startsWith(`${name}-`)) rmdirSync(join(slice, d));
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('history accrues without --log, the next start prints the recommendation, and jobs agrees with the summaries', async () => {
    const cfg = join(tmp, 'config.yml');
    const first = await cli(['run', '--config', cfg, '--name', name, '--memory-max', '128M', '--', 'python3', '-c', hog(40)]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).not.toContain('history of');
    const second = await cli(['run', '--config', cfg, '--name', name, '--memory-max', '128M', '--', 'python3', '-c', hog(70)]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(new RegExp(`history of ${name}: 1 earlier run, peak p95 \\d+(\\.\\d)? MiB, max \\d+(\\.\\d)? MiB; recommended --memory-max \\d+M`));
    const third = await cli(['run', '--config', cfg, '--name', name, '--memory-max', '100M', '--', 'python3', '-c', hog(200)]);
    expect(third.code, third.stderr).not.toBe(0);

    const logs = readdirSync(join(tmp, 'runs')).filter((f) => f.endsWith('.jsonl'));
    expect(logs).toHaveLength(3);
    const summaries = logs.map((f) => {
      const lines = readFileSync(join(tmp, 'runs', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      return lines.find((l) => l.type === 'summary') as { peak_bytes: number; duration_seconds: number; killed_by_kernel: boolean; oom_kills: number; exit_code: number };
    });
    expect(summaries.filter((s) => s.killed_by_kernel || s.oom_kills > 0)).toHaveLength(1);

    const jobs = await cli(['jobs', '--config', cfg, '--json']);
    expect(jobs.code, jobs.stderr).toBe(0);
    const parsed = JSON.parse(jobs.stdout) as { jobs: Array<{ name: string; runs: number; peak_bytes: { p50: number; max: number }; duration_seconds: { max: number }; hit_limit: number; stopped: number }> };
    const mine = parsed.jobs.find((j) => j.name === name);
    const peaks = summaries.map((s) => s.peak_bytes).sort((a, b) => a - b);
    expect(mine).toMatchObject({
      runs: 3,
      hit_limit: 1,
      stopped: 0,
      peak_bytes: { p50: peaks[1], max: peaks[2] },
      duration_seconds: { max: Math.max(...summaries.map((s) => s.duration_seconds)) },
    });
    expect(peaks[2]).toBeGreaterThanOrEqual(95 * MiB);
    const table = await cli(['jobs', '--config', cfg]);
    expect(table.stdout).toContain(`${name}: --memory-max`);
    expect(table.stdout).toContain('1 of 3 runs hit the limit');
  }, 120_000);
});
