import { describe, expect, it } from 'vitest';
import type { JobBackend, JobSample } from '../../src/run/backends/backend.js';
import { supervise, type JobExit, type SignalSource } from '../../src/run/supervisor.js';

/** A job simulated in memory: processes in a fake cgroup that react to signals as the test says. */
function fakeJob(opts: { ignoreTerm: boolean; leftover?: number[] }) {
  let now = 0;
  const sent: Array<[number, string, number]> = [];
  const members = new Set([100, ...(opts.leftover ?? [])]);
  let resolveExit: (e: JobExit) => void = () => undefined;
  const exited = new Promise<JobExit>((r) => (resolveExit = r));
  let removed = false;
  const backend: JobBackend = {
    kind: 'cgroup-v1',
    location: '/fake/headroom.slice/j-1',
    warnings: [],
    setup: () => [],
    wrap: (c) => c,
    pids: () => [...members],
    sample: (): JobSample => ({ processes: members.size }),
    remove: () => {
      if (members.size > 0) throw new Error('EBUSY');
      removed = true;
    },
  };
  const control = {
    spawn: () => ({ pid: 100, exited }),
    kill: (pid: number, signal: NodeJS.Signals) => {
      sent.push([pid, signal, now]);
      if (!members.has(pid)) throw Object.assign(new Error('ESRCH'), { code: 'ESRCH' });
      if (signal === 'SIGKILL' || !opts.ignoreTerm) {
        members.delete(pid);
        if (pid === 100) resolveExit({ code: null, signal });
      }
    },
  };
  return {
    backend,
    control,
    sent,
    removed: () => removed,
    monotonicMs: () => now,
    sleep: (ms: number) => {
      now += ms;
      return Promise.resolve();
    },
    exitNow: (code: number) => {
      members.delete(100);
      resolveExit({ code, signal: null });
    },
  };
}

const noSignals: SignalSource = () => () => undefined;

describe('supervise (fake processes, fake clock)', () => {
  it('timeout: SIGTERM to every process, the grace period, then SIGKILL; cgroup removed', async () => {
    const job = fakeJob({ ignoreTerm: true });
    const ticks: number[] = [];
    const r = await supervise({
      backend: job.backend, argv: ['x'], control: job.control, signals: noSignals, timeoutMs: 2000, graceMs: 3000, sampleMs: 1000,
      monotonicMs: job.monotonicMs, sleep: job.sleep, onTick: (t) => ticks.push(t), say: () => undefined,
    });
    expect(r.stop).toEqual({ kind: 'timeout', atMs: 2000 });
    expect(r.sigkilled).toBe(true);
    expect(r.exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(job.sent.map(([pid, sig, at]) => `${pid} ${sig} @${at}`)).toEqual(['100 SIGTERM @2000', '100 SIGKILL @5000']);
    expect(ticks.slice(0, 6)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    // One more sample after the exit, at the run's duration (the fake clock also advances the pending sleep).
    expect(ticks.at(-1)).toBe(r.durationMs);
    expect(job.removed()).toBe(true);
  });

  it('a forwarded Ctrl-C reaches every process; leftovers after the main exit are stopped too', async () => {
    const job = fakeJob({ ignoreTerm: false, leftover: [101, 102] });
    let deliver: (s: NodeJS.Signals) => void = () => undefined;
    const signals: SignalSource = (h) => {
      deliver = h;
      return () => (deliver = () => undefined);
    };
    const promise = supervise({
      backend: job.backend, argv: ['x'], control: job.control, signals, timeoutMs: undefined, graceMs: 1000, sampleMs: 1000,
      monotonicMs: job.monotonicMs, sleep: async (ms) => {
        await job.sleep(ms);
        if (job.monotonicMs() === 3000) deliver('SIGINT');
      }, onTick: () => undefined, say: () => undefined,
    });
    const r = await promise;
    expect(r.stop).toEqual({ kind: 'signal', signal: 'SIGINT', atMs: 3000 });
    expect(job.sent.filter(([, s]) => s === 'SIGINT').map(([pid]) => pid).sort()).toEqual([100, 101, 102]);
    expect(r.exit.signal).toBe('SIGINT');
    expect(r.sigkilled).toBe(false);
    expect(job.removed()).toBe(true);
  });

  it('leftover children that ignore SIGTERM are SIGKILLed after the grace period', async () => {
    const job = fakeJob({ ignoreTerm: true, leftover: [101] });
    const r = supervise({
      backend: job.backend, argv: ['x'], control: job.control, signals: noSignals, timeoutMs: undefined, graceMs: 1000, sampleMs: 1000,
      monotonicMs: job.monotonicMs, sleep: job.sleep, onTick: () => undefined, say: () => undefined,
    });
    job.exitNow(0);
    const result = await r;
    expect(result.exit).toEqual({ code: 0, signal: null });
    expect(result.leftovers).toBe(1);
    expect(job.sent.map(([pid, sig]) => `${pid} ${sig}`)).toEqual(['101 SIGTERM', '101 SIGKILL']);
    expect(result.cleanupProblems).toEqual([]);
    expect(job.removed()).toBe(true);
  });
});
