/* global process, performance, console */
// headroom's own cgroup v2 actions, run for real in the guest: the built dist/ modules (shared at /opt/headroom)
// act on real cgroups under /sys/fs/cgroup/headroom-machine.slice. Prints one JSON object with what it saw.
// usage: node actions.mjs   (as root in the guest)
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const dist = '/opt/headroom/dist';
const { NodeFileReader } = await import(`${dist}/procfs/file-reader.js`);
const { ProcFs } = await import(`${dist}/procfs/procfs.js`);
const { LiveProcessControl } = await import(`${dist}/actions/process-control.js`);
const { LiveCgroupControl } = await import(`${dist}/actions/cgroup-control.js`);
const { stopCgroup } = await import(`${dist}/actions/stop-cgroup.js`);
const { throttle } = await import(`${dist}/actions/throttle.js`);
const { captureBeforeAction } = await import(`${dist}/evidence/capture.js`);
const { NodeTreeFs } = await import(`${dist}/procfs/tree-fs.js`);

const root = '/sys/fs/cgroup';
const base = 'headroom-machine.slice';
const files = new NodeFileReader();
const proc = new ProcFs('/proc', files);
const write = (path, text) => writeFileSync(path, text);
const env = {
  dryRun: false,
  processes: new LiveProcessControl(proc, proc.stat().bootTimeSeconds, (pid, sig) => process.kill(pid, sig), write),
  cgroups: new LiveCgroupControl({ version: 'v2', root }, files, write),
  meminfo: () => proc.meminfo(),
  writeFile: write,
  dropCachesPath: '/proc/sys/vm/drop_caches',
  sleep: (ms) => sleep(ms),
  monotonic: () => performance.now() / 1000,
  killGraceMs: 1000,
  confirmTimeoutMs: 5000,
  pollMs: 50,
  throttleRatio: 0.5,
  protectSshd: { oomScoreAdj: -900 },
};

const read = (rel, file) => readFileSync(join(root, rel, file), 'utf8').trim();
const procs = (rel) => read(rel, 'cgroup.procs').split('\n').filter(Boolean).map(Number);
const events = (rel) => Object.fromEntries(read(rel, 'memory.events').split('\n').map((l) => l.split(' ')).map(([k, v]) => [k, Number(v)]));
const alive = (pid) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

function makeCgroup(rel) {
  mkdirSync(join(root, base), { recursive: true });
  if (!read(base, 'cgroup.subtree_control').includes('memory')) writeFileSync(join(root, base, 'cgroup.subtree_control'), '+memory');
  mkdirSync(join(root, rel), { recursive: true });
}

/** Starts argv inside the cgroup before it runs (the same join-then-exec as headroom run's wrapper). */
function startIn(rel, argv) {
  const child = spawn('/bin/sh', ['-c', 'echo $$ > "$1"; shift; exec "$@"', 'join', join(root, rel, 'cgroup.procs'), ...argv], { stdio: ['ignore', 'ignore', 'inherit'] });
  return child;
}

const out = {};
try {
  // 1. stop_cgroup: a tree of processes (a shell, its children and a grandchild) stopped as one by cgroup.kill.
  const killRel = `${base}/kill-test`;
  makeCgroup(killRel);
  startIn(killRel, ['/bin/sh', '-c', 'sleep 300 & sleep 300 & sh -c "sleep 300 & wait" & wait']);
  await sleep(1500);
  const before = procs(killRel);
  const plan = { kind: 'plan', action: 'stop_cgroup', target: { kind: 'cgroup', path: `/${killRel}`, pids: before }, reason: 'machine test', targetBytes: 0 };
  const report = await stopCgroup.run(plan, env);
  await sleep(200);
  out.stopCgroup = { before, result: report.result, detail: report.detail, after: procs(killRel), stillAlive: before.filter(alive) };

  // 2. throttle: a steady grower; memory.high set by the action at throttleRatio of its usage slows it.
  const thrRel = `${base}/throttle-test`;
  makeCgroup(thrRel);
  startIn(thrRel, ['python3', '/opt/headroom/test/machine/guest/grow.py', '40', '600']);
  await sleep(4000);
  const cur0 = Number(read(thrRel, 'memory.current'));
  await sleep(2000);
  const cur1 = Number(read(thrRel, 'memory.current'));
  const high0 = events(thrRel).high;
  const tplan = { kind: 'plan', action: 'throttle', target: { kind: 'cgroup', path: `/${thrRel}`, pids: procs(thrRel) }, reason: 'machine test', targetBytes: cur1 };
  const treport = await throttle.run(tplan, env);
  const highValue = Number(read(thrRel, 'memory.high'));
  const cur2 = Number(read(thrRel, 'memory.current'));
  await sleep(4000);
  const cur3 = Number(read(thrRel, 'memory.current'));
  out.throttle = {
    result: treport.result, detail: treport.detail, highValue,
    growthBeforePerS: (cur1 - cur0) / 2, currentAtThrottle: cur1, currentAfter: [cur2, cur3],
    highEventsBefore: high0, highEventsAfter: events(thrRel).high,
    swapAfter: Number(read(thrRel, 'memory.swap.current')),
  };
  writeFileSync(join(root, thrRel, 'cgroup.kill'), '1');

  // 3. evidence before stop_cgroup: the kernel's cgroup.freeze holds the whole cgroup while it is read, the
  //    cgroup is still frozen when capture hands over to the action, and stop_cgroup + thaw leave nothing.
  const frzRel = `${base}/freeze-test`;
  makeCgroup(frzRel);
  startIn(frzRel, ['python3', '-c', 'import os, time\nif os.fork() == 0:\n    b = bytearray(20 << 20)\n    for i in range(0, len(b), 4096): b[i] = 1\n    time.sleep(300)\nc = bytearray(60 << 20)\nfor i in range(0, len(c), 4096): c[i] = 1\ntime.sleep(300)']);
  await sleep(3000);
  const fpids = procs(frzRel);
  const fplan = { kind: 'plan', action: 'stop_cgroup', target: { kind: 'cgroup', path: `/${frzRel}`, pids: fpids }, reason: 'machine test', targetBytes: 0 };
  const deps = {
    read: { procRoot: '/proc', files, fs: new NodeTreeFs(), userName: (uid) => `uid ${uid}` },
    pause: (pid, sig) => process.kill(pid, sig),
    runTool: async () => ({ timedOut: false, code: 1, stdout: '', error: 'not used' }),
    pySpy: () => undefined,
    monotonic: () => performance.now() / 1000,
    now: () => new Date(),
  };
  const settings = { enabled: true, budgetMs: 2000, pySpy: false, envAllowlist: [], pssMaxResidentBytes: 0, maxFds: 64, maxFiles: 5, maxChildren: 8, maxStackChars: 1000 };
  const session = await captureBeforeAction(deps, settings, fplan, env, { stalling: false });
  const frozenAtHandover = /^frozen 1$/m.test(read(frzRel, 'cgroup.events'));
  const freport = await stopCgroup.run(fplan, session.env);
  session.release();
  await sleep(200);
  const ev = session.evidence ?? {};
  out.freeze = {
    pids: fpids, frozenAtHandover, frozen: ev.frozen, frozenPids: ev.frozenPids, spentMs: ev.spentMs,
    cgroup: ev.cgroup, processPid: ev.process?.pid, children: (ev.process?.children ?? []).map((c) => c.pid),
    result: freport.result, after: procs(frzRel), stillAlive: fpids.filter(alive),
    freezeFile: read(frzRel, 'cgroup.freeze'), notCaptured: ev.notCaptured,
  };
} finally {
  // Whatever the checks left: every process of the test cgroups (this script's own), by cgroup.kill.
  for (const rel of [`${base}/kill-test`, `${base}/throttle-test`, `${base}/freeze-test`]) {
    try { if (existsSync(join(root, rel))) writeFileSync(join(root, rel, 'cgroup.kill'), '1'); } catch (e) { out.cleanup = String(e); }
  }
  // A killed grower with half a GiB in swap takes a while to exit: wait (bounded) until the cgroups are empty.
  for (const rel of [`${base}/kill-test`, `${base}/throttle-test`, `${base}/freeze-test`, base]) {
    for (let i = 0; ; i++) {
      try {
        if (existsSync(join(root, rel))) {
          // A cgroup left frozen (a failed check) must be thawed for its killed tasks to exit.
          if (existsSync(join(root, rel, 'cgroup.freeze'))) writeFileSync(join(root, rel, 'cgroup.freeze'), '0');
          rmdirSync(join(root, rel));
        }
        break;
      } catch (e) {
        if (i >= 100) { out.cleanup = String(e); break; }
        await sleep(200);
      }
    }
  }
}
console.log(JSON.stringify(out));
