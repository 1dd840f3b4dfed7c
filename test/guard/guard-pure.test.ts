import { describe, expect, it } from 'vitest';
import { nextPollInterval } from '../../src/guard/interval.js';
import type { GuardReading } from '../../src/guard/reading.js';
import { evaluateCrossing, type CrossingSettings } from '../../src/guard/crossing.js';

const reading = (availableRatio: number, psiFull?: number): GuardReading => ({
  memory: { totalBytes: 1000, availableBytes: availableRatio * 1000, usedRatio: 1 - availableRatio, scope: 'host' },
  availableRatio,
  psiFull,
});
const settings: CrossingSettings = { availableBelow: 0.05, sustainMs: 200, psiFullAbove: 0.5, psiSustainMs: 5000 };

describe('guard poll interval', () => {
  it('polls fastest near the threshold and slowest far from it', () => {
    expect(nextPollInterval(0.06, 0.05, 100, 1000)).toBe(100);
    expect(nextPollInterval(0.01, 0.05, 100, 1000)).toBe(100);
    expect(nextPollInterval(0.9, 0.05, 100, 1000)).toBe(1000);
    const mid = nextPollInterval(0.21, 0.05, 100, 1000);
    expect(mid).toBeGreaterThan(100);
    expect(mid).toBeLessThan(1000);
    expect(nextPollInterval(0.15, 0.05, 100, 1000)).toBeLessThan(mid);
  });
});

describe('guard trigger', () => {
  it('fires only once available memory has stayed below the threshold for the sustain time', () => {
    let v = evaluateCrossing({}, reading(0.04), 1000, settings);
    expect(v.fire).toBe(false);
    v = evaluateCrossing(v.state, reading(0.03), 1150, settings);
    expect(v.fire).toBe(false);
    v = evaluateCrossing(v.state, reading(0.03), 1200, settings);
    expect(v).toMatchObject({ fire: true, cause: 'low_memory', sinceMs: 1000 });
    if (v.fire) expect(v.reason).toBe('available memory of host is 3.0 %, below the guard threshold of 5.0 %');
  });
  it('forgets a dip that recovered', () => {
    let v = evaluateCrossing({}, reading(0.04), 1000, settings);
    v = evaluateCrossing(v.state, reading(0.5), 1100, settings);
    expect(v.state.lowSinceMs).toBeUndefined();
    v = evaluateCrossing(v.state, reading(0.04), 1250, settings);
    expect(v.fire).toBe(false);
  });
  it('fires on sustained memory pressure even with memory available', () => {
    let v = evaluateCrossing({}, reading(0.4, 0.7), 0, settings);
    expect(v.fire).toBe(false);
    v = evaluateCrossing(v.state, reading(0.4, 0.8), 5000, settings);
    expect(v).toMatchObject({ fire: true, cause: 'memory_pressure', sinceMs: 0 });
  });
  it('never fires on pressure without PSI', () => {
    const v = evaluateCrossing({ pressureSinceMs: 0 }, reading(0.4, undefined), 99_000, settings);
    expect(v.fire).toBe(false);
  });
});
