import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IncidentStore } from '../../src/incidents/store.js';
import type { IncidentRecord } from '../../src/incidents/types.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import { NodeFileReader } from '../../src/procfs/file-reader.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import type { StatusSources } from '../../src/status/collect.js';
import { writeAgentState } from '../../src/status/agent-state.js';
import { fixture } from '../support/fixtures.js';
import { action } from '../notify/fixtures.js';

/** The fixed clock of the fixture tests: btime 1765480000 + 12 h 40 m. */
export const FIXTURE_NOW = new Date('2025-12-12T03:13:20Z');

/** Status sources on the committed fixture trees, with a state directory prepared in `stateDir`. */
export function fixtureSources(stateDir: string, cgroup: 'cgroup-v1' | 'cgroup-v2' = 'cgroup-v2'): StatusSources {
  const files = new NodeFileReader();
  return {
    proc: new ProcFs(fixture('proc'), files),
    cgroups: new CgroupFs(fixture(cgroup), files),
    files,
    now: () => FIXTURE_NOW,
    hostname: 'ml-box-1',
    stateDir,
    notifyStateDir: join(stateDir, 'notify'),
    runCgroupParent: '/headroom.slice',
    passwdPath: fixture('etc', 'passwd'),
    thresholds: { warning: 0.8, critical: 0.95 },
  };
}

/** agent.json naming fixture PID 110 (start ticks 400) as the agent, an incident, and an outbox with two messages. */
export function prepareState(stateDir: string, extraIncident?: Partial<IncidentRecord>): IncidentRecord {
  writeFakeAgentState(stateDir);
  const record = saveIncident(stateDir, extraIncident);
  const outbox = join(stateDir, 'notify');
  mkdirSync(outbox, { recursive: true });
  for (const seq of [7, 8]) writeFileSync(join(outbox, `msg-${String(seq).padStart(16, '0')}.json`), '{}');
  writeFileSync(join(outbox, 'cursor-log.json'), '{"seq":8}');
  writeFileSync(join(outbox, 'cursor-slack.json'), '{"seq":6}');
  return record;
}

/** agent.json naming fixture PID 110 (start ticks 400). */
export function writeFakeAgentState(stateDir: string): void {
  writeAgentState(stateDir, {
    pid: 110,
    startTicks: 400,
    url: 'http://127.0.0.1:9632',
    version: '0.1.0',
    startedAt: '2025-12-12T01:13:20Z',
    guard: { enabled: true, availableBelow: 0.03, minIntervalMs: 100, maxIntervalMs: 1000 },
  });
}

/** One incident (the 2025-12-12 one, with overrides) saved through the real IncidentStore. */
export function saveIncident(stateDir: string, extraIncident?: Partial<IncidentRecord>): IncidentRecord {
  const n = action();
  const rec: IncidentRecord = {
    id: '20251212T031300Z-pid449948',
    host: 'ml-box-1',
    source: 'receiver',
    alertName: 'HostMemoryCritical',
    action: 'stop_process_tree',
    dryRun: false,
    result: 'success',
    reason: n.reason,
    detail: 'SIGTERM, then SIGKILL after 10 s',
    target: n.target,
    commandKey: 'python3 parallel_feature_testing.py',
    timeline: { critical: '2025-12-12T03:12:00Z', action: '2025-12-12T03:13:00Z', recovery: '2025-12-12T03:13:05Z' },
    memoryBefore: n.memoryBefore,
    ...(n.memoryAfter ? { memoryAfter: n.memoryAfter } : {}),
    actionBefore: {},
    actionAfter: {},
    freedBytes: n.freedBytes ?? 0,
    timeToResolutionSeconds: 65,
    ...extraIncident,
  };
  return new IncidentStore(join(stateDir, 'incidents')).save(rec).record;
}
