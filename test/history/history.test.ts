import { describe, expect, it } from 'vitest';
import { BOUND_BYTES, MAX_CHARS, ShortHistory, slopePerSecond, type TreeSampleEntry } from '../../src/history/history.js';
import { RingBuffer } from '../../src/history/ring.js';

const tree = (pid: number, bytes: number): TreeSampleEntry => ({ key: `${pid}/1`, pid, startTimeSeconds: 0, comm: `p${pid}`, residentBytes: bytes, processes: 1 });

describe('ShortHistory (pure, injected clock)', () => {
  it('stays within its stated bound whatever it is fed', () => {
    let t = 0;
    const h = new ShortHistory({ now: () => t, windowMs: 60_000, hostIntervalMs: 1000, treeIntervalMs: 10_000, topK: 3 });
    expect(h.capacity()).toEqual({ hostPoints: 61, treeFrames: 7, jobFrames: 7, entriesPerFrame: 3 });
    // Fed 100 times faster than expected, with 10 000 trees per sample: still 61 points, 7 frames of 3.
    for (let i = 0; i < 5000; i++) {
      t += 10;
      h.recordHost({ totalBytes: 100, availableBytes: 50 });
      if (i % 100 === 0) h.recordTrees(Array.from({ length: 10_000 }, (_, k) => tree(k + 1, k)));
    }
    expect(h.host()).toHaveLength(61);
    const trees = h.trees();
    expect(trees.map((x) => x.pid)).toEqual([10_000, 9_999, 9_998]);
    expect(trees[0]?.series.length).toBe(7);
  });

  it('cuts every string when recording, so each entry has a size bound, and states the bound of the whole', () => {
    const h = new ShortHistory({ now: () => 0 });
    expect(h.boundBytes()).toBe(901 * BOUND_BYTES.hostPoint + 61 * (10 * BOUND_BYTES.treeEntry + BOUND_BYTES.frame) + 61 * (10 * BOUND_BYTES.jobEntry + BOUND_BYTES.frame));
    expect(h.boundBytes()).toBe(2_120_192);
    const long = 'ж'.repeat(5000);
    h.recordTrees([{ key: long, pid: 1, startTimeSeconds: 0, comm: long, user: long, cmdline: long, cgroup: long, residentBytes: 1, processes: 1 }]);
    h.recordJobs([{ path: long, usageBytes: 1 }]);
    const [t] = h.trees();
    expect([t?.key.length, t?.comm.length, t?.user?.length, t?.cmdline?.length, t?.cgroup?.length]).toEqual([MAX_CHARS.key, MAX_CHARS.comm, MAX_CHARS.user, MAX_CHARS.cmdline, MAX_CHARS.cgroup]);
    expect(h.jobs()[0]?.path.length).toBe(MAX_CHARS.jobPath);
    // Short strings are kept whole, absent ones stay absent.
    h.recordTrees([{ key: 'k', pid: 2, startTimeSeconds: 0, comm: 'python3', residentBytes: 1, processes: 1 }]);
    expect(h.trees()[0]).toMatchObject({ key: 'k', comm: 'python3' });
    expect(h.trees()[0]?.cmdline).toBeUndefined();
  });

  it('drops what is older than the window and computes growth per tree', () => {
    let t = 1_000_000;
    const h = new ShortHistory({ now: () => t, windowMs: 60_000, hostIntervalMs: 1000, treeIntervalMs: 10_000, topK: 5 });
    for (let i = 0; i < 7; i++) {
      h.recordTrees([tree(300, 1_000_000 + i * 10 * 50_000), tree(400, 5_000_000)]);
      h.recordHost({ totalBytes: 100, availableBytes: 90 - i });
      t += 10_000;
    }
    // Now = last sample + 10 s: the first sample (70 s ago) is outside the 60 s window.
    expect(h.host().map((p) => p.availableBytes)).toEqual([89, 88, 87, 86, 85, 84]);
    expect(h.treeGrowth('300/1')).toBeCloseTo(50_000, 6);
    expect(h.treeGrowth('400/1')).toBe(0);
    expect(h.treeGrowth('999/1')).toBeUndefined();
    const [big, small] = h.trees();
    expect(big?.pid).toBe(400);
    expect(small?.growthBytesPerSecond).toBeCloseTo(50_000, 6);
    t += 120_000;
    expect(h.trees()).toEqual([]);
    expect(h.lastHost()).toBeUndefined();
  });

  it('rejects nonsense options and computes slopes', () => {
    expect(() => new ShortHistory({ now: () => 0, topK: 0 })).toThrow(/topK must be above 0/);
    expect(slopePerSecond([{ atMs: 0, value: 0 }])).toBeUndefined();
    expect(slopePerSecond([{ atMs: 0, value: 0 }, { atMs: 2000, value: 10 }])).toBe(5);
    const r = new RingBuffer<number>(2);
    r.push(1);
    r.push(2);
    r.push(3);
    expect(r.toArray()).toEqual([2, 3]);
  });
});
