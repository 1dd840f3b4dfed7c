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
});
