// A pod's process as a Kubernetes node shows it, on this machine's real /proc and cgroup v1 memory controller:
// a small process runs inside a cgroup laid out like the kubelet's (cgroupfs driver,
// <test cgroup>/kubepods/burstable/pod<uid>/<container id>), next to kubelet-style log directories. The real
// collectors label its rows with namespace/pod/container, and the remediation snapshot names the pod.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectors } from '../../src/collectors/index.js';
import { CollectorRunner } from '../../src/collectors/runner.js';
import { parseConfig } from '../../src/config/load.js';
import { CgroupFs } from '../../src/procfs/cgroupfs.js';
import { NodeFileReader } from '../../src/procfs/file-reader.js';
import { ProcFs } from '../../src/procfs/procfs.js';
import { NodeTreeFs } from '../../src/procfs/tree-fs.js';
import { summarizeProcess } from '../../src/remediation/summaries.js';
import { LiveSnapshotReader } from '../../src/remediation/snapshot.js';
import { canCreateV1Cgroup, V1_MEMORY_ROOT } from '../support/cgroup.js';
import { skipSuite } from '../support/suites.js';

const usable = canCreateV1Cgroup();
if (!usable) process.stdout.write(`SKIP test/kubernetes/real-node.test.ts: needs root and a cgroup v1 memory controller at ${V1_MEMORY_ROOT}\n`);

const TOP = `headroom-kube-${process.pid}`;
const UID = randomUUID();
const CID = randomBytes(32).toString('hex');
const LIMIT = 256 * 1024 * 1024;

describe.skipIf(skipSuite('kube-node-cgroup-v1'))('a pod process on a real node layout (cgroup v1, cgroupfs driver)', () => {
  const levels = [TOP, `${TOP}/kubepods`, `${TOP}/kubepods/burstable`, `${TOP}/kubepods/burstable/pod${UID}`, `${TOP}/kubepods/burstable/pod${UID}/${CID}`];
  const leaf = join(V1_MEMORY_ROOT, levels[levels.length - 1] as string);
  let logs = '';
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    for (const l of levels) mkdirSync(join(V1_MEMORY_ROOT, l));
    // Hard limit on the top level (hierarchical) and on the leaf: the process stays far below it anyway.
    writeFileSync(join(V1_MEMORY_ROOT, TOP, 'memory.limit_in_bytes'), String(LIMIT));
    writeFileSync(join(leaf, 'memory.limit_in_bytes'), String(LIMIT));
    logs = mkdtempSync(join(tmpdir(), 'headroom-kube-logs-'));
    const podDir = join(logs, 'pods', `ml-team_train-7f9c_${UID}`, 'trainer');
    mkdirSync(podDir, { recursive: true });
    writeFileSync(join(podDir, '0.log'), '');
    mkdirSync(join(logs, 'containers'));
    symlinkSync(join(podDir, '0.log'), join(logs, 'containers', `train-7f9c_ml-team_trainer-${CID}.log`));
    // The shell moves itself into the container's cgroup, then becomes a sleeping process holding 32 MiB.
    child = spawn('/bin/sh', ['-c', 'echo $$ > "$1" && exec python3 -c "b = bytearray(32 << 20); import time; time.sleep(60)"', 'sh', join(leaf, 'cgroup.procs')], { stdio: 'ignore' });
    const pid = child.pid as number;
    for (let i = 0; i < 100; i++) {
      const status = existsSync(`/proc/${pid}/status`) ? readFileSync(`/proc/${pid}/status`, 'utf8') : '';
      if (/^Name:\s+python3/m.test(status) && Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) > 30 * 1024) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    if (child?.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      process.kill(child.pid, 'SIGKILL');
      await exited;
    }
    for (let i = 0; i < 50 && existsSync(leaf) && readFileSync(join(leaf, 'cgroup.procs'), 'utf8').trim() !== ''; i++) await new Promise((r) => setTimeout(r, 20));
    for (const l of [...levels].reverse()) if (existsSync(join(V1_MEMORY_ROOT, l))) rmdirSync(join(V1_MEMORY_ROOT, l));
    if (logs !== '') rmSync(logs, { recursive: true, force: true });
  });

  it('the exporter labels its rows k8s_namespace / k8s_pod / k8s_container', () => {
    const pid = String(child?.pid);
    const config = parseConfig(
      { kubernetes: { pod_logs_dir: join(logs, 'pods') }, collectors: { top_processes: { top_k: 2000, max_series: 2000 } } },
      'test',
    );
    const files = new NodeFileReader();
    const runner = new CollectorRunner(createCollectors(new NodeTreeFs()), { config, proc: new ProcFs('/proc', files), cgroups: new CgroupFs('/sys/fs/cgroup', files), files }, () => performance.now() / 1000, (c, e) => {
      throw new Error(`${c}: ${String(e)}`);
    });
    const rows = runner.scrape().families.find((f) => f.name === 'headroom_process_resident_bytes')?.samples ?? [];
    const row = rows.find((s) => s.labels.pid === pid);
    expect(row?.labels, `PID ${pid} among ${rows.length} exported processes`).toMatchObject({
      comm: 'python3',
      cgroup: `/${levels[levels.length - 1] as string}`,
      k8s_namespace: 'ml-team',
      k8s_pod: 'train-7f9c',
      k8s_container: 'trainer',
    });
    // This machine's own processes are in no pod: none of them gets the labels.
    expect(rows.filter((s) => s.labels.k8s_pod !== undefined).map((s) => s.labels.pid)).toEqual([pid]);
  });

  it('the remediation snapshot names the pod in the process summary (Slack, incident reports)', () => {
    const files = new NodeFileReader();
    const reader = new LiveSnapshotReader(new ProcFs('/proc', files), new CgroupFs('/sys/fs/cgroup', files), files, { pid: process.pid, ppid: process.ppid }, () => new Date(), join(logs, 'pods'));
    const summary = summarizeProcess(child?.pid as number, reader.read());
    expect(summary?.pod).toEqual({ namespace: 'ml-team', name: 'train-7f9c', container: 'trainer' });
    expect(summary?.residentBytes).toBeGreaterThan(30 * 1024 * 1024);
  });
});
