import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { skipSuite } from '../support/suites.js';

/**
 * headroom run for real on this machine's cgroup v1 (memory + cpu controllers, writable as root): the built CLI
 * (npm run build) is spawned as a user would. Every test names its job uniquely; afterEach SIGKILLs, by PID,
 * whatever is still in that job's cgroups and the headroom process itself, and removes the cgroups.
 */
const CGROUP = '/sys/fs/cgroup';
const CLI = join(import.meta.dirname, '../../dist/cli/main.js');

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
  elapsedMs: number;
}

const started: number[] = [];
const names: string[] = [];
let tmp = '';

function jobName(tag: string): string {
  const name = `t-${tag}-${randomBytes(3).toString('hex')}`;
  names.push(name);
  return name;
}

function runCli(args: string[], opts: { onStdout?: (text: string, pid: number) => void; limitMs?: number } = {}): Promise<CliRun> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) started.push(child.pid);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => {
    out.push(b);
    if (child.pid !== undefined) opts.onStdout?.(Buffer.concat(out).toString('utf8'), child.pid);
  });
  child.stderr.on('data', (b: Buffer) => err.push(b));
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`headroom run did not finish within ${opts.limitMs ?? 30_000} ms; stderr: ${Buffer.concat(err).toString()}`));
    }, opts.limitMs ?? 30_000);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr: Buffer.concat(err).toString('utf8'), elapsedMs: performance.now() - t0 });
    });
  });
}

function jobDirs(name: string): string[] {
  const dirs: string[] = [];
  for (const h of ['memory', 'cpu', 'cpuacct']) {
    const slice = join(CGROUP, h, 'headroom.slice');
    if (!existsSync(slice)) continue;
    for (const d of readdirSync(slice)) if (d.startsWith(`${name}-`)) dirs.push(join(slice, d));
  }
  return dirs;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'ESRCH') return false;
    throw error;
  }
}

/**
 * Is the process still running? A dead orphan stays a zombie until PID 1 reaps it (this machine's init reaps
 * late), which holds no memory and is in no cgroup: that counts as gone.
 */
function running(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return false;
    throw error;
  }
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

function summaryOf(logPath: string): Record<string, unknown> {
  const lines = readFileSync(logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const summary = lines.find((l) => l.type === 'summary');
  if (summary === undefined) throw new Error(`no summary line in ${logPath}`);
  return summary;
}

describe.skipIf(skipSuite('run-cgroup-v1'))('headroom run on this machine (cgroup v1)', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    tmp = mkdtempSync(join(tmpdir(), 'headroom-run-real-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  afterEach(() => {
    // Whatever happened: nothing of the test's jobs survives (by PID, only processes in the test's own cgroups).
    for (const name of names.splice(0)) {
      for (const dir of jobDirs(name)) {
        const procs = existsSync(join(dir, 'cgroup.procs')) ? readFileSync(join(dir, 'cgroup.procs'), 'utf8') : '';
        for (const pid of procs.split('\n').filter((l) => /^\d+$/.test(l)).map(Number)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch (error) {
            if ((error as { code?: string }).code !== 'ESRCH') throw error;
          }
        }
      }
      const deadline = Date.now() + 30_000;
      for (const dir of jobDirs(name)) {
        for (;;) {
          try {
            rmdirSync(dir);
            break;
          } catch (error) {
            if (Date.now() > deadline) throw error;
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
          }
        }
      }
    }
    for (const pid of started.splice(0)) {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('stops a job that allocates past --memory-max 200M inside its cgroup; headroom survives and says so', async () => {
    const name = jobName('hog');
    const log = join(tmp, `${name}.jsonl`);
    // Allocates and touches 25 MiB per step, up to 1000 MiB (never reached: the cgroup is hard-limited to 200M).
    const hog = 'import time\nchunks=[]\nfor i in range(40):\n    b=bytearray(25*1024*1024)\n    for j in range(0,len(b),4096): b[j]=1\n    chunks.append(b)\n    print(f"allocated {(i+1)*25} MiB", flush=True)\n    time.sleep(0.1)\nprint("never stopped", flush=True)\n';
    const r = await runCli(['--name', name, '--memory-max', '200M', '--log', log, '--', 'python3', '-c', hog]);
    process.stderr.write(`\n--- 200M hog, headroom's stderr ---\n${r.stderr}---\n`);
    expect(r.code).toBe(137);
    expect(r.stdout).toContain('allocated 25 MiB');
    expect(r.stdout).not.toContain('never stopped');
    expect(r.stderr).toMatch(/stopped by the kernel at its 200 MiB limit after \d+ (ms|s); peak \d+(\.\d)? MiB; the machine/);
    expect(r.stderr).toMatch(/OOM kills [1-9]/);
    expect(r.stderr).toContain('exit code 137');
    const summary = summaryOf(log);
    expect(summary).toMatchObject({ backend: 'cgroup-v1', killed_by_kernel: true, exit_code: 137, limit_bytes: 200 * 1024 ** 2 });
    expect(summary.oom_kills as number).toBeGreaterThanOrEqual(1);
    expect(summary.peak_bytes as number).toBeLessThanOrEqual(200 * 1024 ** 2);
    expect(summary.peak_bytes as number).toBeGreaterThan(150 * 1024 ** 2);
    expect(readFileSync(log.replace(/\.jsonl$/, '.svg'), 'utf8')).toContain('limit 200 MiB');
    expect(jobDirs(name)).toEqual([]);
  });

  it('--timeout 2s on sleep 60 exits 124, stopped by SIGTERM within the grace period', async () => {
    const name = jobName('timeout');
    const r = await runCli(['--name', name, '--timeout', '2s', '--kill-grace', '3s', '--', 'sleep', '60']);
    expect(r.code).toBe(124);
    // Outcomes, not a stopwatch: not before the timeout, cut short (sleep 60 did not run out), and the SIGTERM
    // was enough (no SIGKILL after the grace period).
    expect(r.elapsedMs).toBeGreaterThanOrEqual(2000);
    expect(r.elapsedMs).toBeLessThan(60_000);
    expect(r.stderr).toMatch(/timed out after 2 s; it stopped on SIGTERM/);
    expect(r.stderr).not.toMatch(/sending SIGKILL/);
    expect(jobDirs(name)).toEqual([]);
  });

  it('SIGKILLs a job that ignores SIGTERM after the grace period, still exit 124', async () => {
    const name = jobName('stubborn');
    const r = await runCli(['--name', name, '--timeout', '1s', '--kill-grace', '2s', '--', 'sh', '-c', 'trap "" TERM; echo $$; while :; do sleep 0.1; done']);
    expect(r.code).toBe(124);
    // Waited the timeout and the whole grace period before SIGKILL (lower bounds hold on any machine).
    expect(r.elapsedMs).toBeGreaterThanOrEqual(3000);
    expect(r.stderr).toContain('did not stop within the 2 s grace period: sending SIGKILL');
    expect(r.stderr).toMatch(/ignored SIGTERM and was SIGKILLed/);
    const jobPid = Number(r.stdout.trim().split('\n')[0]);
    expect(jobPid).toBeGreaterThan(1);
    expect(running(jobPid)).toBe(false);
    expect(jobDirs(name)).toEqual([]);
  });

  it('a job that forks: every child is inside the cgroup, and none is left afterwards', async () => {
    const name = jobName('fork');
    const script = 'for i in 1 2 3; do sleep 300 & echo "child $! $(grep -E "^[0-9]+:memory:" /proc/$!/cgroup | cut -d: -f3)"; done; sleep 0.5; exit 0';
    const r = await runCli(['--name', name, '--kill-grace', '1s', '--', 'sh', '-c', script]);
    expect(r.code).toBe(0);
    const children = r.stdout.trim().split('\n').map((l) => l.split(' '));
    expect(children).toHaveLength(3);
    for (const [, pid, cgroup] of children) {
      expect(cgroup).toMatch(new RegExp(`^/headroom\\.slice/${name}-[a-z0-9]{6}$`));
      expect(running(Number(pid))).toBe(false);
    }
    expect(r.stderr).toContain('stopped 3 leftover process(es) of the job after it exited');
    expect(jobDirs(name)).toEqual([]);
  });

  it('the limits are really written to the job\'s own cgroup (seen from inside the job), exit code passes through', async () => {
    const name = jobName('limits');
    const log = join(tmp, `${name}.jsonl`);
    const script =
      'm=$(grep -E "^[0-9]+:memory:" /proc/self/cgroup | cut -d: -f3); c=$(grep -E "^[0-9]+:cpu:" /proc/self/cgroup | cut -d: -f3); ' +
      'cat /sys/fs/cgroup/memory$m/memory.limit_in_bytes /sys/fs/cgroup/memory$m/memory.memsw.limit_in_bytes /sys/fs/cgroup/memory$m/memory.soft_limit_in_bytes /sys/fs/cgroup/cpu$c/cpu.cfs_quota_us; echo $m; echo $c; exit 7';
    const r = await runCli(['--name', name, '--memory-max', '300M', '--memory-high', '250M', '--cpu-quota', '50%', '--log', log, '--', 'sh', '-c', script]);
    expect(r.code).toBe(7);
    const [limit, memsw, soft, quota, mcg, ccg] = r.stdout.trim().split('\n');
    expect([limit, memsw, soft, quota]).toEqual([String(300 * 1024 ** 2), String(300 * 1024 ** 2), String(250 * 1024 ** 2), '50000']);
    expect(mcg).toMatch(new RegExp(`^/headroom\\.slice/${name}-`));
    expect(ccg).toBe(mcg);
    const start = JSON.parse(readFileSync(log, 'utf8').split('\n')[0] ?? '{}') as { applied: Array<{ target: string; value: string }> };
    expect(start.applied.map((a) => `${a.target.replace(/^.*\//, '')}=${a.value}`)).toEqual([
      `memory.limit_in_bytes=${300 * 1024 ** 2}`,
      `memory.memsw.limit_in_bytes=${300 * 1024 ** 2}`,
      `memory.soft_limit_in_bytes=${250 * 1024 ** 2}`,
      'cpu.cfs_period_us=100000',
      'cpu.cfs_quota_us=50000',
    ]);
    expect(r.stderr).toContain('failed with exit code 7');
  });

  it('passes the job\'s stdout through byte for byte', async () => {
    const name = jobName('stdout');
    const r = await runCli(['--name', name, '--', 'printf', 'a\\000b\\377\\n']);
    expect(r.code).toBe(0);
    expect([...r.stdoutBytes]).toEqual([0x61, 0x00, 0x62, 0xff, 0x0a]);
  });

  it('forwards SIGINT to the job and exits with the job\'s exit code', async () => {
    const name = jobName('sigint');
    let sent = false;
    const r = await runCli(['--name', name, '--', 'sh', '-c', 'trap "echo got INT; exit 42" INT; echo ready; while :; do sleep 0.1; done'], {
      onStdout: (text, pid) => {
        if (!sent && text.includes('ready')) {
          sent = true;
          process.kill(pid, 'SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(42);
    expect(r.stdout).toContain('got INT');
    expect(r.stderr).toMatch(/stopped by SIGINT \(forwarded to the job\)/);
    expect(jobDirs(name)).toEqual([]);
  });

  it('refuses at once with exit 75 when --require-available is above MemTotal, even with a wait', async () => {
    const name = jobName('refuse');
    const r = await runCli(['--name', name, '--require-available', '100T', '--wait-available', '30s', '--', 'true']);
    expect(r.code).toBe(75);
    // At once: it did not spend the 30 s --wait-available waiting for memory that can never be there.
    expect(r.stderr).not.toMatch(/waiting up to/);
    expect(r.elapsedMs).toBeLessThan(30_000);
    expect(r.stderr).toMatch(/refusing to start t-refuse-\w+: needs 100 TiB available but this machine has only [\d.]+ GiB in total \(MemTotal\)/);
    expect(jobDirs(name)).toEqual([]);
  });

  it('waits up to --wait-available with progress, then refuses with exit 75', async () => {
    const name = jobName('wait');
    const memTotal = Number(/MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024;
    const r = await runCli(['--name', name, '--require-available', String(memTotal), '--wait-available', '2s', '--', 'true']);
    expect(r.code).toBe(75);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(2000);
    expect(r.stderr).toMatch(/waiting up to 2 s for memory: .* available \(MemAvailable\), .* required/);
    expect(r.stderr).toMatch(/not enough memory after waiting 2 s/);
  });

  it.each([
    [['--memory-max', '0'], /--memory-max: got "0"; must be a size/],
    [['--memory-max', '50GG'], /--memory-max: got "50GG"; must be a size/],
    [['--timeout', '-1'], /--timeout: got "-1"; must be a duration/],
    [[], /no command given/],
  ])('bad input %j → a clear error and exit 2, nothing started', async (args, message) => {
    const name = jobName('bad');
    const r = await runCli(['--name', name, ...args, ...(args.length === 0 ? [] : ['--', 'true'])]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(jobDirs(name)).toEqual([]);
  });
});
