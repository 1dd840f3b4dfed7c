import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricFamily } from '../../src/collectors/collector.js';
import { renderIncident } from '../../src/incidents/render.js';
import type { IncidentRecord } from '../../src/incidents/types.js';
import type { ProcessSummary } from '../../src/notify/events.js';
import { podName } from '../../src/notify/render/format.js';
import { protectionReason } from '../../src/policy/protections.js';
import type { ProcessDetailsLite, Snapshot } from '../../src/policy/types.js';
import { NodeFileReader } from '../../src/procfs/file-reader.js';
import { buildKubePodIndex, describeKubeProcess, EMPTY_KUBE_POD_INDEX, readKubePodIndex } from '../../src/procfs/kube-pods.js';
import { parseContainerLogLinkName, parsePodLogDirName } from '../../src/procfs/parse/kube-logs.js';
import { ProcessTable, type ProcessEntry } from '../../src/procfs/process-table.js';
import { podSummary } from '../../src/remediation/kube-pod.js';
import { summarizeProcess } from '../../src/remediation/summaries.js';
import { fixture, fixtureRunner } from '../support/fixtures.js';

const UID = '6f1c9a52-3b7e-4d21-9a0c-2f8e4b7d1c30';
const CID = '4e2b1c9d8f7a6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a2918070f6e5';
const SYSTEMD_PATH = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replaceAll('-', '_')}.slice/cri-containerd-${CID}.scope`;
const POD_DIR = `ml-team_train-7f9c_${UID}`;
const CONTAINER_LINK = `train-7f9c_ml-team_trainer-${CID}.log`;

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'headroom-kube-'));
  temps.push(d);
  return d;
}

/** A node's /var/log as the kubelet lays it out: pods/<ns>_<pod>_<uid>/<container>/0.log and containers/ symlinks. */
function kubeletLogs(root: string): string {
  const pods = join(root, 'var', 'log', 'pods');
  mkdirSync(join(pods, POD_DIR, 'trainer'), { recursive: true });
  writeFileSync(join(pods, POD_DIR, 'trainer', '0.log'), '');
  mkdirSync(join(pods, 'kube-system_kube-proxy-x2x_0a1b2c3d-0000-4000-8000-000000000001', 'kube-proxy'), { recursive: true });
  mkdirSync(join(pods, 'not-a-pod-dir'), { recursive: true });
  const containers = join(root, 'var', 'log', 'containers');
  mkdirSync(containers, { recursive: true });
  symlinkSync(join(pods, POD_DIR, 'trainer', '0.log'), join(containers, CONTAINER_LINK));
  writeFileSync(join(containers, 'README'), '');
  return pods;
}

describe('kubelet log directory names (pure)', () => {
  it('reads namespace, pod and UID from a pod log directory name', () => {
    expect(parsePodLogDirName(POD_DIR)).toEqual({ namespace: 'ml-team', pod: 'train-7f9c', uid: UID });
    expect(parsePodLogDirName('kube-system_coredns-5d78c9869d-abcde_0a1b2c3d-0000-4000-8000-000000000002')?.pod).toBe('coredns-5d78c9869d-abcde');
  });
  it('reads pod, namespace, container and ID from a container log link name', () => {
    expect(parseContainerLogLinkName(CONTAINER_LINK)).toEqual({ pod: 'train-7f9c', namespace: 'ml-team', container: 'trainer', containerId: CID });
  });
  it('ignores anything else', () => {
    for (const n of ['not-a-pod-dir', `ml_team_extra_${UID}`, `ns_pod_${UID.slice(0, 30)}`, 'README']) expect(parsePodLogDirName(n), n).toBeUndefined();
    for (const n of ['README', `pod_ns_c-${CID.slice(0, 20)}.log`, `pod_ns_c-${CID}.txt`]) expect(parseContainerLogLinkName(n), n).toBeUndefined();
  });
});

describe('a process\'s pod, from its cgroup and the kubelet\'s directories', () => {
  const index = buildKubePodIndex([POD_DIR], [CONTAINER_LINK]);

  it('names namespace, pod and container when the directories name them', () => {
    expect(describeKubeProcess(SYSTEMD_PATH, () => index)).toEqual({
      namespace: 'ml-team', pod: 'train-7f9c', podUid: UID, container: 'trainer', containerId: CID, qosClass: 'Burstable',
    });
  });
  it('keeps the pod UID and the short container ID when the names are not readable', () => {
    expect(describeKubeProcess(`/kubepods/besteffort/pod${UID}/${CID}`, () => EMPTY_KUBE_POD_INDEX)).toEqual({
      pod: UID, podUid: UID, container: CID.slice(0, 12), containerId: CID, qosClass: 'BestEffort',
    });
  });
  it('does not list the directories for a process outside any pod', () => {
    let listed = 0;
    const lazy = () => {
      listed += 1;
      return index;
    };
    expect(describeKubeProcess('/user.slice/user-1000.slice/session-3.scope', lazy)).toBeUndefined();
    expect(describeKubeProcess(undefined, lazy)).toBeUndefined();
    expect(listed).toBe(0);
  });
  it('reads a real directory tree, and a node without /var/log/pods gives an empty index, not an error', () => {
    const root = tempDir();
    const pods = kubeletLogs(root);
    const read = readKubePodIndex(new NodeFileReader(), pods);
    expect([...read.pods.keys()].sort()).toEqual(['0a1b2c3d-0000-4000-8000-000000000001', UID]);
    expect(read.containers.get(CID)).toBe('trainer');
    expect(readKubePodIndex(new NodeFileReader(), join(root, 'no', 'such', 'pods'))).toBe(EMPTY_KUBE_POD_INDEX);
  });
});

describe('top process series carry k8s_namespace / k8s_pod / k8s_container (bounded: the same rows, only labels)', () => {
  function scrape(withLogs: boolean): { families: readonly MetricFamily[]; errors: string[] } {
    const root = tempDir();
    const proc = join(root, 'proc');
    cpSync(fixture('proc'), proc, { recursive: true });
    // PID 300 (the fixture's training job) and its workers run in a pod: cgroup v1 memory line and v2 line.
    for (const pid of ['300', '301', '302']) writeFileSync(join(proc, pid, 'cgroup'), `12:memory:${SYSTEMD_PATH}\n0::${SYSTEMD_PATH}\n`);
    const pods = withLogs ? kubeletLogs(root) : join(root, 'var', 'log', 'pods');
    const { runner, errors } = fixtureRunner({ cgroup: 'cgroup-v1', procRoot: proc, config: { kubernetes: { pod_logs_dir: pods } } });
    return { families: runner.scrape().families, errors };
  }
  const series = (families: readonly MetricFamily[], name: string) => families.find((f) => f.name === name)?.samples ?? [];

  it('labels the pod\'s processes with their names, and no other process', () => {
    const { families, errors } = scrape(true);
    expect(errors).toEqual([]);
    const rows = series(families, 'headroom_process_resident_bytes');
    const inPod = rows.filter((s) => ['300', '301', '302'].includes(s.labels.pid ?? ''));
    expect(inPod).toHaveLength(3);
    for (const s of inPod) expect(s.labels).toMatchObject({ k8s_namespace: 'ml-team', k8s_pod: 'train-7f9c', k8s_container: 'trainer' });
    for (const s of rows.filter((r) => !inPod.includes(r))) expect(Object.keys(s.labels).filter((k) => k.startsWith('k8s_')), s.labels.pid).toEqual([]);
    const tree = series(families, 'headroom_process_tree_resident_bytes').find((s) => s.labels.pid === '300');
    expect(tree?.labels).toMatchObject({ k8s_namespace: 'ml-team', k8s_pod: 'train-7f9c', k8s_container: 'trainer' });
  });

  it('keeps the same number of series as without Kubernetes (labels, never extra rows)', () => {
    const { families } = scrape(true);
    const { runner } = fixtureRunner({ cgroup: 'cgroup-v1' });
    const plain = runner.scrape().families;
    for (const name of ['headroom_process_resident_bytes', 'headroom_process_tree_resident_bytes']) {
      expect(series(families, name).length, name).toBe(series(plain, name).length);
    }
  });

  it('without the kubelet\'s directories the pod UID and the short container ID stand in', () => {
    const s = series(scrape(false).families, 'headroom_process_resident_bytes').find((r) => r.labels.pid === '300');
    expect(s?.labels).toMatchObject({ k8s_pod: UID, k8s_container: CID.slice(0, 12) });
    expect(s?.labels.k8s_namespace).toBeUndefined();
  });
});

function entry(pid: number, ppid: number, comm: string): ProcessEntry {
  return { pid, ppid, pgrp: pid, session: pid, comm, state: 'S', isKernelThread: false, residentBytes: 1e9, virtualBytes: 0, cpuSeconds: 1, startTicks: pid, startTimeSeconds: 1000 + pid };
}

function snapshot(entries: ProcessEntry[], details: Record<number, ProcessDetailsLite>, kube = buildKubePodIndex([POD_DIR], [CONTAINER_LINK])): Snapshot {
  return {
    at: new Date(2_000_000),
    memory: { totalBytes: 64e9, availableBytes: 1e9, usedRatio: 0.98, scope: 'host' },
    hostMemTotalBytes: 64e9,
    processes: new ProcessTable(entries),
    details: new Map(Object.entries(details).map(([k, v]) => [Number(k), v])),
    self: { pid: 900, ppid: 899 },
    kubePods: () => kube,
  };
}

describe('the node\'s own machinery is never a victim', () => {
  it('protects the kubelet, the container runtimes, their shims and monitors, and pod sandboxes (by comm and by exe)', () => {
    const cases: Array<[string, string]> = [
      ['kubelet', '/usr/bin/kubelet'], ['containerd', '/usr/bin/containerd'], ['containerd-shim', '/usr/bin/containerd-shim-runc-v2'],
      ['crio', '/usr/bin/crio'], ['conmon', '/usr/bin/conmon'], ['dockerd', '/usr/bin/dockerd'], ['cri-dockerd', '/usr/bin/cri-dockerd'], ['pause', '/pause'],
    ];
    for (const [i, [comm, exe]] of cases.entries()) {
      const pid = 100 + i;
      const snap = snapshot([entry(1, 0, 'systemd'), entry(pid, 1, comm)], { [pid]: { cmdline: [exe], oomScoreAdj: 0, cgroup: '/system.slice' } });
      expect(protectionReason(entry(pid, 1, comm), snap, { comm: [], cmdline: [] }), comm).toMatch(/Kubernetes node/);
      // renamed comm, same binary
      const renamed = entry(pid, 1, 'worker');
      expect(protectionReason(renamed, snapshot([entry(1, 0, 'systemd'), renamed], { [pid]: { cmdline: [exe, '--flag'], oomScoreAdj: 0, cgroup: '/' } }), { comm: [], cmdline: [] }), exe).toMatch(/Kubernetes node/);
    }
  });
  it("protects headroom's own pod: the agent (by its PID) and its parent, the runtime's shim", () => {
    const snap = snapshot([entry(1, 0, 'systemd'), entry(899, 1, 'containerd-shim'), entry(900, 899, 'node')], {
      899: { cmdline: ['/usr/bin/containerd-shim-runc-v2'], oomScoreAdj: -998, cgroup: '/system.slice/containerd.service' },
      900: { cmdline: ['node', '/opt/headroom/dist/cli/main.js', 'agent'], oomScoreAdj: -997, cgroup: SYSTEMD_PATH },
    });
    expect(protectionReason(entry(900, 899, 'node'), snap, { comm: [], cmdline: [] })).toBe('the headroom agent itself');
    expect(protectionReason(entry(899, 1, 'containerd-shim'), snap, { comm: [], cmdline: [] })).toMatch(/parent|Kubernetes node/);
  });
  it('still lets a pod\'s runaway job be chosen', () => {
    const snap = snapshot([entry(1, 0, 'systemd'), entry(720, 1, 'python3')], { 720: { cmdline: ['python3', 'train.py'], oomScoreAdj: 0, cgroup: SYSTEMD_PATH } });
    expect(protectionReason(entry(720, 1, 'python3'), snap, { comm: [], cmdline: [] })).toBeUndefined();
  });
});

describe('reports and Slack name the pod', () => {
  const snap = snapshot([entry(1, 0, 'systemd'), entry(720, 1, 'python3')], { 720: { cmdline: ['python3', 'train.py'], oomScoreAdj: 0, cgroup: SYSTEMD_PATH, uid: 1000 } });

  it('the process summary carries namespace, pod and container', () => {
    expect(summarizeProcess(720, snap)?.pod).toEqual({ namespace: 'ml-team', name: 'train-7f9c', container: 'trainer' });
    expect(podSummary('/user.slice', snap)).toBeUndefined();
    expect(podSummary(SYSTEMD_PATH, { kubePods: undefined })).toEqual({ name: UID, container: CID.slice(0, 12) });
  });

  it('Slack shows "namespace/pod, container …"; the incident report has a Pod row', () => {
    const p = summarizeProcess(720, snap) as ProcessSummary;
    expect(podName(p)).toBe('ml-team/train-7f9c, container trainer');
    const rec: IncidentRecord = {
      id: 'x', host: 'gpu-node-1', source: 'guard', alertName: 'HeadroomHostMemoryHigh', action: 'stop_process_tree', dryRun: false, result: 'success',
      reason: 'host memory critical', detail: 'SIGTERM to 1 process', target: { process: p },
      timeline: { critical: '2026-12-01T00:00:00Z', action: '2026-12-01T00:00:01Z' },
      memoryBefore: snap.memory, actionBefore: {}, actionAfter: {},
    };
    expect(renderIncident(rec, [])).toContain('| Pod | ml-team/train-7f9c, container trainer |');
  });
});
