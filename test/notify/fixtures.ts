import type { ActionNotification, MemorySummary, ProcessSummary, RefusalNotification, ResolvedNotification, WarningNotification } from '../../src/notify/events.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** The 2025-12-12 incident, as headroom would have reported it. */
export const memoryBefore: MemorySummary = {
  totalBytes: 62 * GiB,
  availableBytes: 870 * MiB,
  usedRatio: 1 - (870 * MiB) / (62 * GiB),
  swapTotalBytes: 15 * GiB,
  swapUsedBytes: 8.9 * GiB,
  scope: 'host',
};

export const memoryAfter: MemorySummary = {
  totalBytes: 62 * GiB,
  availableBytes: 61 * GiB,
  usedRatio: 1 - 61 / 62,
  swapTotalBytes: 15 * GiB,
  swapUsedBytes: 2.7 * GiB,
  scope: 'host',
};

export function proc(pid: number, overrides: Partial<ProcessSummary> = {}): ProcessSummary {
  return {
    pid,
    startTime: '1765500000.00',
    comm: 'python3',
    user: 'ml',
    cmdline: 'python3 pipelines/training/parallel_feature_testing.py single audusd',
    residentBytes: 63 * GiB,
    treeResidentBytes: 63.2 * GiB,
    treeProcesses: 4,
    runtimeSeconds: 192 * 60,
    cpuSeconds: 11_400,
    ...overrides,
  };
}

export function action(overrides: Partial<ActionNotification> = {}): ActionNotification {
  return {
    kind: 'action',
    id: 'n-action-1',
    host: 'ml-box-1',
    at: '2025-12-12T03:13:00Z',
    alertName: 'HostMemoryCritical',
    source: 'receiver',
    action: 'stop_process_tree',
    dryRun: false,
    target: { process: proc(449948) },
    reason: 'host memory 98% used for 2 m; python3 (pid 449948) holds 95.7% of MemTotal',
    memoryBefore,
    memoryAfter,
    freedBytes: 60 * GiB,
    timeToResolutionSeconds: 60,
    incidentId: 'inc-20251212-0313',
    incidentReportPath: '/var/lib/headroom/incidents/inc-20251212-0313.md',
    ...overrides,
  };
}

export function warning(overrides: Partial<WarningNotification> = {}): WarningNotification {
  return {
    kind: 'warning',
    id: 'n-warning-1',
    host: 'ml-box-1',
    at: '2025-12-12T02:50:00Z',
    alertName: 'HostMemoryWillExhaust',
    severity: 'warning',
    summary: 'Host memory will run out in about 20 minutes at the current rate',
    description: 'MemAvailable fell from 20 GiB to 6 GiB in 30 minutes.',
    startsAt: '2025-12-12T02:45:00Z',
    memory: { ...memoryBefore, availableBytes: 6 * GiB, usedRatio: 1 - 6 / 62 },
    topProcesses: [proc(449948, { residentBytes: 50 * GiB }), proc(1200, { comm: 'jupyter', cmdline: 'jupyter lab', residentBytes: 2 * GiB })],
    predictedExhaustionSeconds: 1200,
    runbookUrl: 'https://runbooks.example.com/headroom/memory',
    ...overrides,
  };
}

export function refusal(overrides: Partial<RefusalNotification> = {}): RefusalNotification {
  return {
    kind: 'refusal',
    id: 'n-refusal-1',
    host: 'ml-box-1',
    at: '2025-12-12T03:12:30Z',
    alertName: 'HostMemoryCritical',
    source: 'guard',
    reasonCode: 'protected',
    reason: 'the largest process is sshd, which is protected; no other process is above the minimum of 2 GiB',
    memory: memoryBefore,
    candidates: [proc(812, { comm: 'sshd', cmdline: '/usr/sbin/sshd -D', residentBytes: 30 * GiB })],
    ...overrides,
  };
}

export function resolved(overrides: Partial<ResolvedNotification> = {}): ResolvedNotification {
  return {
    kind: 'resolved',
    id: 'n-resolved-1',
    host: 'ml-box-1',
    at: '2025-12-12T03:14:00Z',
    alertName: 'HostMemoryCritical',
    summary: 'Host memory is back below 80% (2% used).',
    startsAt: '2025-12-12T03:12:00Z',
    endsAt: '2025-12-12T03:14:00Z',
    durationSeconds: 120,
    ...overrides,
  };
}

/** A sequence of distinct notifications (for ordering tests). */
export function numbered(count: number, prefix = 'msg'): ResolvedNotification[] {
  return Array.from({ length: count }, (_, i) => resolved({ id: `${prefix}-${i + 1}`, summary: `message number ${i + 1}` }));
}
