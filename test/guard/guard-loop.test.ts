import { describe, expect, it } from 'vitest';
import { runGuard, type GuardCrossing } from '../../src/guard/guard.js';
import type { GuardReading } from '../../src/guard/reading.js';
import { memoryLogger } from '../../src/logging/logger.js';

const reading = (availableRatio: number): GuardReading => ({
  memory: { totalBytes: 1000, availableBytes: availableRatio * 1000, usedRatio: 1 - availableRatio, scope: 'cgroup /sandbox' },
  availableRatio,
});

describe('guard loop', () => {
  it('polls faster as memory runs out, fires once per dip, and measures from the crossing', async () => {
    // Available memory over successive polls: falling, a sustained dip, recovery, and a second dip.
    const script = [0.6, 0.4, 0.2, 0.08, 0.02, 0.02, 0.02, 0.5, 0.5, 0.01, 0.01, 0.01, 0.6];
    let t = 0;
    let i = 0;
    const sleeps: number[] = [];
    const triggers: GuardCrossing[] = [];
    const logger = memoryLogger();
    const controller = new AbortController();
    await runGuard(
      {
        read: () => {
          const r = reading(script[Math.min(i, script.length - 1)] ?? 1);
          i += 1;
          if (i > script.length) controller.abort();
          return r;
        },
        settings: { availableBelow: 0.03, sustainMs: 200, psiFullAbove: 0.5, psiSustainMs: 5000, minIntervalMs: 100, maxIntervalMs: 1000 },
        monotonicMs: () => t,
        now: () => new Date(1_700_000_000_000 + t),
        sleep: (ms) => {
          sleeps.push(ms);
          t += ms;
          return Promise.resolve();
        },
        remediate: (trigger) => {
          triggers.push(trigger);
          return Promise.resolve();
        },
        logger,
        watchCgroup: '/sandbox',
      },
      controller.signal,
    );
    expect(sleeps[0]).toBeGreaterThan(sleeps[2] ?? 0);
    expect(sleeps[4]).toBe(100);
    expect(triggers).toHaveLength(2);
    const first = triggers[0] as GuardCrossing;
    expect(first.cause).toBe('low_memory');
    expect(first.firedAtMs - first.crossedAtMs).toBeGreaterThanOrEqual(200);
    expect(first.firedAtMs - first.crossedAtMs).toBeLessThanOrEqual(300);
    expect(first.crossedAt.getTime()).toBe(1_700_000_000_000 + first.crossedAtMs);
    expect(first.watchCgroup).toBe('/sandbox');
    expect(logger.lines.filter((l) => l.msg === 'guard fired')).toHaveLength(2);
  });

  it('keeps polling after a failed read or remediation', async () => {
    let calls = 0;
    const controller = new AbortController();
    const logger = memoryLogger();
    await runGuard(
      {
        read: () => {
          calls += 1;
          if (calls === 1) throw new Error('meminfo: EIO');
          if (calls > 6) controller.abort();
          return reading(0.01);
        },
        settings: { availableBelow: 0.03, sustainMs: 0, psiFullAbove: 0.5, psiSustainMs: 5000, minIntervalMs: 100, maxIntervalMs: 1000 },
        monotonicMs: () => calls * 100,
        now: () => new Date(),
        sleep: () => Promise.resolve(),
        remediate: () => Promise.reject(new Error('kill failed')),
        logger,
      },
      controller.signal,
    );
    expect(calls).toBeGreaterThan(6);
    expect(logger.lines.some((l) => l.msg === 'guard poll failed' && l.error === 'meminfo: EIO')).toBe(true);
    expect(logger.lines.some((l) => l.msg === 'guard poll failed' && l.error === 'kill failed')).toBe(true);
  });

  it('one incident (issue 14): steps while the incident is open, settling until the freed memory shows; holds after a limit until the line clears', async () => {
    // Available memory: a dip; after step 1 the victim's 300 (of 1000) shows up one poll later; step 2 ends the
    // incident at its limit; the dip goes on (no new incident: holding), clears, and a new dip starts one.
    const script = [0.01, 0.01, 0.01, /* settle */ 0.05, 0.31, /* after step 2 */ 0.02, 0.02, 0.02, 0.02, 0.5, 0.01, 0.01, 0.01, 0.01, 0.6];
    let t = 0;
    let i = 0;
    const steps: Array<{ at: number; available: number }> = [];
    const controller = new AbortController();
    const logger = memoryLogger();
    await runGuard(
      {
        read: () => {
          const r = reading(script[Math.min(i, script.length - 1)] ?? 1);
          i += 1;
          if (i > script.length) controller.abort();
          return r;
        },
        settings: { availableBelow: 0.03, sustainMs: 200, psiFullAbove: 0.5, psiSustainMs: 5000, minIntervalMs: 100, maxIntervalMs: 1000 },
        monotonicMs: () => t,
        now: () => new Date(1_700_000_000_000 + t),
        sleep: (ms) => {
          t += ms;
          return Promise.resolve();
        },
        remediate: (c) => {
          steps.push({ at: i, available: c.reading.availableRatio });
          const n = steps.length;
          if (n === 1) return Promise.resolve({ continue: true, freedBytes: 300 });
          if (n === 2) return Promise.resolve({ continue: false, hold: true });
          return Promise.resolve({ continue: false });
        },
        logger,
        settleMs: 10_000,
      },
      controller.signal,
    );
    // Step 2 came only after the freed memory showed (the 0.31 reading), not on the 0.05 one; no step while holding.
    expect(steps.map((s) => s.available)).toEqual([0.01, 0.31, 0.01]);
    expect(logger.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('guard holding'))).toHaveLength(1);
    expect(logger.lines.filter((l) => l.msg === 'guard fired')).toHaveLength(2);
  });
});
