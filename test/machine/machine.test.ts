/**
 * The real machine: a Debian 12 guest (systemd as PID 1, cgroup v2 with the memory controller, 2 GiB RAM +
 * 1 GiB swap, a real sshd) booted once for this file; every check runs inside it over one ssh connection.
 * See test/machine/guest.ts for how the guest is built, booted and stopped, and docs/machine.md.
 *
 * Where no guest can boot (no qemu, no disk space, not x86-64) this prints one SKIP line with the reason and
 * the tests are skipped; with CI=true that is a failure instead (CI runs on machines that can boot it).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootGuest, ensureImage, REPO, whyNoGuest, type Guest } from './guest.js';
import { runDozen, stillRunning } from './crisis.js';
import { skipSuite } from '../support/suites.js';

const MiB = 1024 * 1024;
const reason = whyNoGuest();
const inCi = process.env.CI === 'true';
const log = (line: string): void => {
  process.stderr.write(`[machine] ${line}\n`);
};
if (reason !== undefined && !inCi) process.stdout.write(`SKIP test:machine: ${reason}\n`);

const GUEST_DIR = '/opt/headroom/test/machine/guest';
const HEADROOM = '/opt/headroom/bin/headroom';

interface Summary {
  exit_code: number;
  headline: string;
  killed_by_kernel: boolean;
  peak_bytes?: number;
  oom_kills: number;
  limit_hits: number;
  leftover_processes: number;
  cleanup_problems: string[];
  cgroup: string;
  backend: string;
}

/** Every file under dir, relative to it ([] when dir does not exist). */
function listFiles(dir: string, base = dir): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    // No fixture yet: an empty tree, which the comparison then reports.
    return [];
  }
  return names.flatMap((n) => (statSync(join(dir, n)).isDirectory() ? listFiles(join(dir, n), base) : [relative(base, join(dir, n))]));
}

/** The summary record (last line) of a headroom run resource log, read in the guest. */
async function summaryOf(guest: Guest, logPath: string): Promise<Summary> {
  const text = await guest.ok(`tail -n 1 ${logPath}`);
  const rec = JSON.parse(text) as Summary & { type: string };
  expect(rec.type).toBe('summary');
  return rec;
}

describe.skipIf(skipSuite('machine-guest'))('the real machine (Debian 12 guest)', () => {
  let guest: Guest | undefined;
  const g = (): Guest => {
    if (guest === undefined) throw new Error('the guest did not boot (see the beforeAll error)');
    return guest;
  };

  beforeAll(async () => {
    const t0 = Date.now();
    const image = await ensureImage(log);
    log(`image ${image.dir} ${image.builtSeconds === undefined ? '(cached)' : `built in ${image.builtSeconds.toFixed(0)} s`} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    guest = await bootGuest({ image, memory: '2G', swapBytes: 1024 ** 3, cpus: 2, log });
    log(`booted with ${guest.accel} in ${(guest.bootMs / 1000).toFixed(1)} s`);
    // A fresh boot: node where the shipped unit expects it, and a place for logs.
    await guest.ok('test -x /usr/bin/node && mkdir -p /tmp/hr');
  });

  afterAll(async () => {
    if (guest !== undefined) {
      await guest.stop();
      log(`qemu ${guest.pid} stopped, boot directory removed`);
    }
  });

  it('is the machine headroom is for: systemd PID 1, cgroup v2 with memory, swap on, sshd, node ≥ 20.19', async () => {
    const out = await g().ok(
      'cat /proc/1/comm; stat -fc %T /sys/fs/cgroup; cat /sys/fs/cgroup/cgroup.controllers; swapon --noheadings --bytes --show=SIZE; ' +
        'systemctl is-active ssh; node --version; cat /proc/self/cgroup; uname -r; systemctl --version | head -1',
    );
    const [comm, fsType, controllers, swap, ssh, nodeVersion, selfCgroup, kernel, systemdVersion] = out.trim().split('\n');
    log(`guest: kernel ${kernel}, ${systemdVersion}, node ${nodeVersion}`);
    expect(comm).toBe('systemd');
    expect(fsType).toBe('cgroup2fs');
    expect(controllers?.split(' ')).toEqual(expect.arrayContaining(['memory', 'cpu']));
    expect(Number(swap)).toBeGreaterThan(1000 * MiB);
    expect(ssh).toBe('active');
    expect(nodeVersion).toMatch(/^v2\d\./);
    // libpam-systemd: an ssh session has its own session scope, as on a stock server.
    expect(selfCgroup).toMatch(/^0::\/user\.slice\/user-0\.slice\/session-\d+\.scope$/);
  });

  for (const backend of ['systemd', 'cgroup-v2'] as const) {
    it(`${backend}: applies the limits (as ${backend === 'systemd' ? 'systemd and ' : ''}the cgroup files show them); every child of a forking job is in its cgroup and none is left after`, async () => {
      const logPath = `/tmp/hr/limits-${backend}.jsonl`;
      const r = await g().run(
        `${HEADROOM} run --backend ${backend} --memory-max 200M --memory-high 150M --swap-max 64M --cpu-quota 50% --kill-grace 2s --log ${logPath} -- ${GUEST_DIR}/forker.sh`,
      );
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.split('\n');
      const value = (prefix: string): string | undefined => lines.find((l) => l.startsWith(prefix))?.slice(prefix.length);
      const cgroupDir = value('cgroup ') ?? '';
      expect(value('file memory.max ')).toBe(String(200 * MiB));
      expect(value('file memory.high ')).toBe(String(150 * MiB));
      expect(value('file memory.swap.max ')).toBe(String(64 * MiB));
      expect(value('file cpu.max ')).toBe('50000 100000');
      if (backend === 'systemd') {
        expect(cgroupDir).toMatch(/^\/sys\/fs\/cgroup\/headroom\.slice\/headroom-forker\.sh_[a-z0-9]+\.slice\/forker\.sh-[a-z0-9]+\.scope$/);
        expect(value('prop MemoryMax=')).toBe(String(200 * MiB));
        expect(value('prop MemoryHigh=')).toBe(String(150 * MiB));
        expect(value('prop MemorySwapMax=')).toBe(String(64 * MiB));
        expect(value('prop CPUQuotaPerSecUSec=')).toBe('500ms');
      } else {
        expect(cgroupDir).toMatch(/^\/sys\/fs\/cgroup\/headroom\.slice\/forker\.sh-[a-z0-9]+$/);
        expect(value('file memory.oom.group ')).toBe('1');
      }
      // Every child is in the job's cgroup; the job's cgroup holds exactly them and the job.
      const children = lines.filter((l) => l.startsWith('child ')).map((l) => l.split(' '));
      expect(children).toHaveLength(3);
      const rel = cgroupDir.replace('/sys/fs/cgroup', '');
      for (const [, , cg] of children) expect(cg).toBe(`0::${rel}`);
      const procs = (value('procs ') ?? '').trim().split(' ').map(Number);
      expect(procs.sort()).toEqual([...children.map((c) => Number(c[1])), Number(value('self ')?.split(' ')[0])].sort());
      // The children outlived the job: headroom stopped them, and nothing of the job remains.
      const summary = await summaryOf(g(), logPath);
      expect(summary.leftover_processes).toBe(3);
      expect(summary.cleanup_problems).toEqual([]);
      const after = await g().ok(
        `for p in ${children.map((c) => c[1]).join(' ')}; do test -e /proc/$p && echo "alive $p"; done; test -e '${cgroupDir}' && echo "cgroup left"; ` +
          `systemctl list-units --all --no-legend 'headroom-*' 'forker*' | sed 's/^/unit /'; true`,
      );
      expect(after.trim()).toBe('');
    });

    it(`${backend}: an over-limit job is reported as killed by the kernel at its limit, with its peak and one OOM kill`, async () => {
      // Fails before the fixes: systemd read "killed by SIGKILL; peak 75–88 MiB; OOM kills 0" (the scope's cgroup
      // was gone before the final read), cgroup v2 "OOM kills 2" for one process (memory.oom.group = 1).
      const logPath = `/tmp/hr/oom-${backend}.jsonl`;
      const r = await g().run(`${HEADROOM} run --backend ${backend} --memory-max 100M --log ${logPath} -- python3 -c 'a = bytearray(300 * 1024 * 1024)'`);
      expect(r.code).toBe(137);
      const s = await summaryOf(g(), logPath);
      log(`${backend} OOM: ${s.headline}; oom_kills ${s.oom_kills}; peak ${s.peak_bytes}`);
      expect(s.headline).toMatch(/^stopped by the kernel at its 100 MiB limit/);
      expect(s.killed_by_kernel).toBe(true);
      expect(s.oom_kills).toBe(1);
      expect(s.limit_hits).toBeGreaterThan(0);
      // At the limit: the kernel's high-water mark (systemd: of the job's slice, a few pages above the scope's).
      expect(s.peak_bytes).toBeGreaterThanOrEqual(99 * MiB);
      expect(s.peak_bytes).toBeLessThanOrEqual(101 * MiB);
      expect(r.stderr).toMatch(/OOM kills 1;/);
      expect(await g().ok(`test -e '/sys/fs/cgroup${s.cgroup.replace('/sys/fs/cgroup', '')}' && echo left; systemctl list-units --all --no-legend 'headroom-*' | sed 's/^/unit /'; true`)).toBe('');
    });
  }

  it('cgroup-v2: a job whose workers are killed as a group (memory.oom.group) is reported as killed by the kernel, the victim counted once', async () => {
    const logPath = '/tmp/hr/oom-group.jsonl';
    // A parent and two workers; together they pass 150 MiB, and the kernel kills all three as one group.
    const r = await g().run(`${HEADROOM} run --backend cgroup-v2 --memory-max 150M --log ${logPath} -- python3 ${GUEST_DIR}/grow.py 120 400 2`);
    expect(r.code).toBe(137);
    const s = await summaryOf(g(), logPath);
    log(`group OOM: ${s.headline}; oom_kills ${s.oom_kills}`);
    // 3: the kernel's count (4) less its double count of the victim; 2 when the victim exited before the kernel
    // walked the group (it then counts 3 for the three): see oomKillsFromEvents.
    expect([2, 3]).toContain(s.oom_kills);
    expect(s.killed_by_kernel).toBe(true);
    expect(s.headline).toMatch(/^stopped by the kernel at its 150 MiB limit/);
  });

  it('swap: --swap-max 0 (the default) stops a job at its limit; systemd\'s own default lets it swap past it', async () => {
    const grow = `python3 -c 'a = bytearray(300 * 1024 * 1024); print("survived")'`;
    // headroom run's default: no swap for the job, so 100M means 100M.
    const d = await g().run(`${HEADROOM} run --backend systemd --memory-max 100M --log /tmp/hr/swap-default.jsonl -- ${grow}`);
    expect(d.code).toBe(137);
    // --swap-max honoured: with 1G of swap allowed the same job swaps and finishes.
    const allowed = await g().run(`${HEADROOM} run --backend systemd --memory-max 100M --swap-max 1G --log /tmp/hr/swap-1g.jsonl -- ${grow}`);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain('survived');
    const start = JSON.parse(await g().ok('head -n 1 /tmp/hr/swap-1g.jsonl')) as { applied: { target: string; value: string }[] };
    expect(start.applied.filter((a) => a.target.endsWith('.scope MemorySwapMax'))).toEqual([{ target: expect.any(String) as string, value: String(1024 * MiB) }]);
    const samples = (await g().ok("grep '\"type\":\"sample\"' /tmp/hr/swap-1g.jsonl")).trim().split('\n').map((l) => JSON.parse(l) as { swap_bytes?: number });
    expect(Math.max(...samples.map((x) => x.swap_bytes ?? 0))).toBeGreaterThan(100 * MiB);
    // Plain systemd-run with only MemoryMax (the seed's recommendation): MemorySwapMax defaults to unlimited.
    const plain = await g().run(`systemd-run --scope --quiet --collect --unit=hr-plain-swap.scope -p MemoryMax=100M -- ${grow}`, { timeoutMs: 180_000 });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('survived');
  });

  it('a timeout stops the job with exit 124, SIGKILL after the grace period when it ignores SIGTERM', async () => {
    const t = await g().run(`${HEADROOM} run --backend systemd --timeout 3s -- sleep 60; echo "rc=$?"; ${HEADROOM} run --backend cgroup-v2 --timeout 3s --kill-grace 2s -- sh -c 'trap "" TERM; sleep 60 & wait; sleep 60'; echo "rc=$?"`);
    expect(t.stdout.trim().split('\n')).toEqual(['rc=124', 'rc=124']);
    expect(t.stderr).toMatch(/did not stop within the 2 s grace period: sending SIGKILL/);
  });

  it('the actions on cgroup v2: cgroup.kill stops a whole cgroup; memory.high slows a grower; cgroup.freeze holds a cgroup target for its evidence', async () => {
    const out = JSON.parse(await g().ok(`node ${GUEST_DIR}/actions.mjs`, { timeoutMs: 180_000 })) as {
      stopCgroup: { before: number[]; result: string; after: number[]; stillAlive: number[] };
      freeze: {
        pids: number[];
        frozenAtHandover: boolean;
        frozen: string;
        frozenPids: number;
        cgroup: { tasks: number; usageBytes: number; anonBytes: number; largestPid: number };
        processPid: number;
        children: number[];
        result: string;
        after: number[];
        stillAlive: number[];
        freezeFile: string;
      };
      throttle: { result: string; highValue: number; growthBeforePerS: number; currentAtThrottle: number; currentAfter: number[]; highEventsBefore: number; highEventsAfter: number };
      cleanup?: string;
    };
    log(`actions: ${JSON.stringify(out)}`);
    expect(out.stopCgroup.before.length).toBeGreaterThanOrEqual(5);
    expect(out.stopCgroup.result).toBe('success');
    expect(out.stopCgroup.after).toEqual([]);
    expect(out.stopCgroup.stillAlive).toEqual([]);
    const th = out.throttle;
    expect(th.result).toBe('success');
    expect(th.highValue).toBeLessThan(th.currentAtThrottle);
    expect(th.highEventsAfter).toBeGreaterThan(th.highEventsBefore);
    // Unthrottled it grew ~40 MiB/s; after memory.high its charge stays at the line instead of growing on.
    expect(th.growthBeforePerS).toBeGreaterThan(15 * MiB);
    expect(th.currentAfter[1]).toBeLessThanOrEqual(th.highValue + 8 * MiB);
    // Evidence for a cgroup target on a real v2 kernel: frozen by cgroup.freeze (still frozen when the action
    // starts), the cgroup's charge and its largest task (the 60 MiB parent, the 20 MiB child as its child),
    // then stop_cgroup empties it and the cgroup is thawed.
    const fz = out.freeze;
    expect(fz.pids).toHaveLength(2);
    expect(fz.frozen).toBe('cgroup_v2_freeze');
    expect(fz.frozenAtHandover).toBe(true);
    expect(fz.frozenPids).toBe(2);
    expect(fz.cgroup.tasks).toBe(2);
    expect(fz.cgroup.anonBytes).toBeGreaterThanOrEqual(75 * MiB);
    expect(fz.cgroup.largestPid).toBe(fz.processPid);
    expect(fz.children).toHaveLength(1);
    expect(fz.result).toBe('success');
    expect(fz.after).toEqual([]);
    expect(fz.stillAlive).toEqual([]);
    expect(fz.freezeFile).toBe('0');
    expect(out.cleanup).toBeUndefined();
  });

  it('the agent from deploy/systemd/headroom-agent.service: active, hardened, MemoryMin in effect, sshd protected', async () => {
    const config = [
      'remediation:',
      '  state_dir: /var/lib/headroom',
      '  protect_sshd: { enabled: true, oom_score_adj: -900, memory_low: 64M }',
      'guard:',
      '  enabled: true',
      '',
    ].join('\n');
    // sshd processes before the agent starts: the listener (OpenSSH sets itself to -1000) and the session
    // processes of this test's ssh connection (0, as sshd resets them for its children).
    const sshdBefore = (await g().ok('for p in $(pgrep -x sshd); do echo "$p $(cat /proc/$p/oom_score_adj)"; done')).trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
    expect(sshdBefore.some(([, adj]) => (adj ?? 0) > -900)).toBe(true);
    await g().ok(
      'install -m 0644 /opt/headroom/deploy/systemd/headroom-agent.service /etc/systemd/system/ && mkdir -p /etc/headroom && cat > /etc/headroom/headroom.yml && ' +
        'systemctl daemon-reload && systemctl enable --now headroom-agent 2>&1',
      { input: config },
    );
    // Ready when /healthz answers (python3's urllib: the guest has no curl).
    await g().ok(
      `for i in $(seq 1 120); do python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:9632/healthz", timeout=2)' 2>/dev/null && exit 0; sleep 0.5; done; systemctl status headroom-agent --no-pager; journalctl -u headroom-agent --no-pager | tail -20; exit 1`,
      { timeoutMs: 120_000 },
    );
    const props = Object.fromEntries(
      (await g().ok('systemctl show headroom-agent -p ActiveState -p MainPID -p MemoryMin -p MemoryMax -p NoNewPrivileges -p ProtectSystem -p CapabilityBoundingSet -p OOMScoreAdjust'))
        .trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    ) as Record<string, string>;
    expect(props.ActiveState).toBe('active');
    expect(props.MemoryMin).toBe(String(64 * MiB));
    expect(props.NoNewPrivileges).toBe('yes');
    expect(props.ProtectSystem).toBe('strict');
    expect(props.CapabilityBoundingSet?.split(' ').sort()).toEqual(['cap_kill', 'cap_sys_nice', 'cap_sys_ptrace', 'cap_sys_resource']);
    const pid = props.MainPID;
    const k = (await g().ok(
      `cat /sys/fs/cgroup/system.slice/headroom-agent.service/memory.min /sys/fs/cgroup/system.slice/headroom-agent.service/memory.max; cat /proc/${pid}/oom_score_adj; grep -E '^(CapBnd|NoNewPrivs)' /proc/${pid}/status; ` +
        'cat /proc/$(systemctl show ssh -p MainPID --value)/oom_score_adj /sys/fs/cgroup/system.slice/ssh.service/memory.low',
    )).trim().split('\n');
    expect(k[0]).toBe(String(64 * MiB));
    expect(k[1]).toBe(String(512 * MiB));
    expect(Number(k[2])).toBeLessThanOrEqual(-900);
    // CAP_KILL (5), CAP_SYS_PTRACE (19), CAP_SYS_NICE (23), CAP_SYS_RESOURCE (24) and nothing else.
    expect(k[3]).toMatch(new RegExp(`^CapBnd:\\s+0*${((1 << 5) | (1 << 19) | (1 << 23) | (1 << 24)).toString(16)}$`));
    expect(k[4]).toMatch(/^NoNewPrivs:\s+1$/);
    // protect_sshd for real: the listener (the only target: per-connection sshds are left alone, src/policy/
    // protect-plan.ts) at most -900 — OpenSSH already puts itself at -1000 on Linux, which is never raised — and
    // memory.low on ssh.service, written by the agent; the audit log has the action.
    expect(Number(k[5])).toBeLessThanOrEqual(-900);
    expect(k[6]).toBe(String(64 * MiB));
    const listener = (await g().ok('systemctl show ssh -p MainPID --value')).trim();
    const listenerBefore = sshdBefore.find(([p]) => String(p) === listener)?.[1];
    expect(Number(k[5])).toBe(Math.min(listenerBefore ?? 0, -900));
    const audit = (await g().ok("grep '\"event\":\"protect\"' /var/lib/headroom/audit.jsonl")).trim().split('\n').map((l) => JSON.parse(l) as { reasonCode: string; detail: string });
    log(`protect_sshd: ${audit.map((a) => `${a.reasonCode}: ${a.detail}`).join(' | ')}`);
    expect(audit.at(-1)?.reasonCode).toBe('success');
    expect(audit.at(-1)?.detail).toMatch(/memory\.low of \/system\.slice\/ssh\.service = 64(\.0)? MiB/);
  });

  it("the agent's cgroup series for a job's scope equal the kernel's files; promtool accepts its live /metrics", async () => {
    // An idle job holding 64 MiB in a systemd scope (the agent exports headroom's own jobs always).
    await g().ok(
      `nohup ${HEADROOM} run --backend systemd --name idle --memory-max 300M -- python3 -c 'import time; a = bytearray(64 * 1024 * 1024); a[::4096] = b"x" * len(a[::4096]); time.sleep(600)' >/tmp/hr/idle.out 2>&1 </dev/null & ` +
        'for i in $(seq 1 100); do d=$(ls -d /sys/fs/cgroup/headroom.slice/headroom-idle_*.slice/idle-*.scope 2>/dev/null) && test "$(cat $d/memory.current)" -gt 60000000 && exit 0; sleep 0.3; done; cat /tmp/hr/idle.out; exit 1',
    );
    const scope = (await g().ok('ls -d /sys/fs/cgroup/headroom.slice/headroom-idle_*.slice/idle-*.scope')).trim();
    const rel = scope.replace('/sys/fs/cgroup', '');
    // The kernel's files, the agent's /metrics, the kernel's files again: a value is stable if both reads agree.
    const script =
      `cat ${scope}/memory.current ${scope}/memory.events ${scope}/memory.pressure; grep -E '^(anon|file) ' ${scope}/memory.stat; echo ===; ` +
      `python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:9632/metrics", timeout=30).read().decode())'; echo ===; ` +
      `cat ${scope}/memory.current ${scope}/memory.events ${scope}/memory.pressure; grep -E '^(anon|file) ' ${scope}/memory.stat`;
    const [k1 = '', metrics = '', k2 = ''] = (await g().ok(script, { timeoutMs: 60_000 })).split('===\n');
    const kernel = (text: string): Map<string, number> => {
      const m = new Map<string, number>();
      const lines = text.trim().split('\n');
      m.set('current', Number(lines[0]));
      for (const l of lines.slice(1)) {
        const psi = /^(some|full) .* total=(\d+)$/.exec(l);
        if (psi) m.set(`pressure_${psi[1]}`, Number(psi[2]) / 1e6);
        else {
          const [key, v] = l.split(' ');
          if (key !== undefined && v !== undefined) m.set(key, Number(v));
        }
      }
      return m;
    };
    const a = kernel(k1);
    const b = kernel(k2);
    const series = (name: string, labels: string): number | undefined => {
      const line = metrics.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`cgroup="${rel}"`) && l.includes(labels));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    const compare: Array<[string, string, string]> = [
      ['headroom_cgroup_memory_usage_bytes', '', 'current'],
      ['headroom_cgroup_memory_anon_bytes', '', 'anon'],
      ['headroom_cgroup_memory_file_bytes', '', 'file'],
      ['headroom_cgroup_memory_events_total', 'event="high"', 'high'],
      ['headroom_cgroup_memory_events_total', 'event="max"', 'max'],
      ['headroom_cgroup_memory_events_total', 'event="oom"', 'oom'],
      ['headroom_cgroup_memory_events_total', 'event="oom_kill"', 'oom_kill'],
      ['headroom_cgroup_pressure_waiting_seconds_total', '', 'pressure_some'],
      ['headroom_cgroup_pressure_stalled_seconds_total', '', 'pressure_full'],
    ];
    let compared = 0;
    for (const [name, labels, key] of compare) {
      const exported = series(name, labels);
      expect(exported, `${name}{${labels}} for ${rel}`).toBeDefined();
      if (a.get(key) !== b.get(key)) continue; // changed between the reads: not comparable
      expect(exported, `${name}{${labels}} vs kernel ${key}`).toBeCloseTo(a.get(key) ?? NaN, 6);
      compared += 1;
    }
    expect(compared).toBeGreaterThanOrEqual(7);
    expect(series('headroom_cgroup_memory_limit_bytes', '')).toBe(300 * MiB);
    // promtool on the host, over the agent's live output.
    const dir = join(REPO, '.machine-tmp');
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(join(dir, 'metrics.prom'), metrics);
      const lint = execFileSync('sh', ['-c', `promtool check metrics < ${join(dir, 'metrics.prom')} 2>&1; echo "rc=$?"`], { encoding: 'utf8' });
      const lines = lint.trim().split('\n');
      const problems = lines.slice(0, -1);
      // Known defect (src/agent, reported): prom-client's default process metrics include three gauges named
      // *_total, which promtool's lint rejects (exit 3). Any other problem, or a parse error, fails here.
      const known = /^headroom_agent_nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
      if (problems.length > 0) log(`promtool on the live /metrics: ${problems.join(' | ')}`);
      expect(problems.filter((p) => !known.test(p)), lint).toEqual([]);
      expect(['rc=0', 'rc=3'], lint).toContain(lines.at(-1));
      if (lines.at(-1) === 'rc=3') expect(problems.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // A v2 fixture tree from this real machine (test/fixtures/cgroup-v2-guest, backing the hand-made cgroup-v2
    // one in the golden test): rewritten with HEADROOM_MACHINE_CAPTURE=1, otherwise the committed tree must have
    // exactly the files the live kernel has, so it stays what a Debian 12 machine looks like.
    const [sliceName = '', scopeName = ''] = rel.split('/').slice(-2);
    const captured = JSON.parse(await g().ok(`python3 ${GUEST_DIR}/capture-v2.py ${sliceName} ${scopeName}`)) as Record<string, string>;
    const stable = (path: string): string => path.replace(sliceName, 'headroom-idle_guest1.slice').replace(scopeName, 'idle-guest1.scope');
    const fixtureDir = join(REPO, 'test/fixtures/cgroup-v2-guest');
    if (process.env.HEADROOM_MACHINE_CAPTURE === '1') {
      rmSync(fixtureDir, { recursive: true, force: true });
      for (const [path, text] of Object.entries(captured)) {
        mkdirSync(dirname(join(fixtureDir, stable(path))), { recursive: true });
        writeFileSync(join(fixtureDir, stable(path)), text);
      }
      log(`captured ${Object.keys(captured).length} files into ${fixtureDir}`);
    }
    const committed = listFiles(fixtureDir).sort();
    expect(committed, 'run HEADROOM_MACHINE_CAPTURE=1 npm run test:machine to refresh test/fixtures/cgroup-v2-guest').toEqual(Object.keys(captured).map(stable).sort());
    // The idle job ends with its slice: stop the job's run by PID (SIGTERM is forwarded by headroom run).
    await g().ok(`kill $(cat ${scope}/cgroup.procs); for i in $(seq 1 50); do test -e ${scope} || exit 0; sleep 0.2; done; exit 1`);
  });

  it('the guard as shipped: a job started without headroom run grows until the machine would run out; it is stopped, sshd answers every probe, nothing else is killed, a report exists', async () => {
    const guestNow = g();
    // Without the agent this would be the unprotected crisis (ssh stalls for minutes): refuse to start it.
    expect((await guestNow.run('systemctl is-active headroom-agent')).stdout.trim(), 'the agent test must have installed and started the agent').toBe('active');
    const before = (await guestNow.ok("ps --ppid 2 -p 2 --deselect -o pid=,comm= | awk '{print $1\" \"$2}'")).trim().split('\n');
    const sshdPid = (await guestNow.ok('systemctl show ssh -p MainPID --value')).trim();
    const agentPid = (await guestNow.ok('systemctl show headroom-agent -p MainPID --value')).trim();
    // The hog: no headroom run, no limit, 50 MiB/s up to 4 GiB (more than RAM + swap), in the ssh session.
    const oomBefore = Number((await guestNow.ok("dmesg | grep -c 'Killed process' || true")).trim());
    const hogPid = (await guestNow.ok(`nohup python3 ${GUEST_DIR}/grow.py 50 4096 >/tmp/hr/hog.out 2>&1 </dev/null & echo $!`)).trim();
    const probes: { ok: boolean; ms: number }[] = [];
    const deadline = Date.now() + 240_000;
    let hogGone = false;
    while (Date.now() < deadline) {
      const t = Date.now();
      const p = await guestNow.run(`test -e /proc/${hogPid} && echo alive || echo gone`, { timeoutMs: 5000 });
      probes.push({ ok: p.code === 0, ms: p.ms });
      if (p.code === 0 && p.stdout.trim() === 'gone') {
        hogGone = true;
        break;
      }
      const wait = 1000 - (Date.now() - t);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const failed = probes.filter((p) => !p.ok).length;
    const worst = Math.max(...probes.map((p) => p.ms));
    log(`guard crisis: ${probes.length} probes, ${failed} failed, worst ${worst} ms; hog ${hogGone ? 'stopped' : 'still running'}`);
    expect(hogGone).toBe(true);
    expect(failed).toBe(0);
    const after = new Set((await guestNow.ok("ps --ppid 2 -p 2 --deselect -o pid=,comm= | awk '{print $1\" \"$2}'")).trim().split('\n'));
    // Nothing else killed: every process from before (but the hog) still runs; sshd and the agent unchanged.
    const missing = before.filter((p) => !after.has(p) && !p.startsWith(`${hogPid} `) && !/ (ps|awk|sh|bash|sshd|sleep)$/.test(p));
    expect(missing).toEqual([]);
    expect((await guestNow.ok('systemctl show ssh -p MainPID --value')).trim()).toBe(sshdPid);
    expect((await guestNow.ok('systemctl show headroom-agent -p MainPID --value')).trim()).toBe(agentPid);
    // The kernel's OOM killer did not have to act; the guard did, and wrote an incident report naming the job.
    const oomKills = Number((await guestNow.ok("dmesg | grep -c 'Killed process' || true")).trim()) - oomBefore;
    log(`kernel OOM kills during the crisis: ${oomKills}`);
    expect(oomKills).toBe(0);
    // The incident (and its report) is closed once the host has stayed recovered for remediation.incident
    // close_after (90 s by default): wait for the report.
    const incidents = (await guestNow.ok('for i in $(seq 1 180); do ls /var/lib/headroom/incidents/*.md >/dev/null 2>&1 && break; sleep 1; done; ls /var/lib/headroom/incidents/ 2>/dev/null; true', { timeoutMs: 240_000 })).trim().split('\n').filter(Boolean);
    expect(incidents.length).toBeGreaterThan(0);
    const report = await guestNow.ok(`cat /var/lib/headroom/incidents/${incidents[0]}${incidents[0]?.endsWith('.json') || incidents[0]?.endsWith('.md') ? '' : '/*'}`);
    expect(report).toContain(hogPid);
    expect(await guestNow.ok('grep -c guard /var/lib/headroom/audit.jsonl')).not.toBe('0\n');
  });

  it("the guard with the shipped defaults and a dozen independent jobs growing together: it stops jobs until memory is back under the recovered line, sshd answers, no cooldown refusal while past the line, nothing else killed, one incident naming every victim", async () => {
    const guestNow = g();
    // Issue 14: the shipped defaults except guard.enabled (state_dir as the unit's StateDirectory; the default
    // min_victim_size, min(1G, 5 %), makes these 250 MiB jobs candidates on a 2 GiB machine). A fresh state
    // directory, so the audit log and the incidents are this test's alone.
    const config = 'remediation:\n  state_dir: /var/lib/headroom\nguard:\n  enabled: true\n';
    await guestNow.ok(
      'systemctl stop headroom-agent && rm -rf /var/lib/headroom/* && cat > /etc/headroom/headroom.yml && systemctl start headroom-agent && ' +
        `for i in $(seq 1 120); do python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:9632/healthz", timeout=2)' 2>/dev/null && exit 0; sleep 0.5; done; journalctl -u headroom-agent --no-pager | tail -20; exit 1`,
      { input: config, timeoutMs: 120_000 },
    );
    const ps = "ps --ppid 2 -p 2 --deselect -o pid=,comm= | awk '{print $1\" \"$2}'";
    const before = (await guestNow.ok(ps)).trim().split('\n');
    const keyPids = "for u in ssh headroom-agent user@0 systemd-journald; do echo \"$u $(systemctl show $u -p MainPID --value)\"; done; echo \"init $(cat /proc/1/stat | cut -d' ' -f22)\"";
    const keyBefore = (await guestNow.ok(keyPids)).trim();
    expect(keyBefore, 'the user manager of the test\'s ssh session runs (libpam-systemd)').not.toMatch(/^user@0 0$/m);
    const oomBefore = Number((await guestNow.ok("dmesg | grep -c 'Killed process' || true")).trim());

    const run = await runDozen(guestNow);
    // The incident ends (its audit line and report are written) once the host has stayed recovered: wait for it,
    // then see which jobs are gone (a victim signalled under thrash may take seconds to exit).
    await guestNow.run(`for i in $(seq 1 180); do grep -q '"event":"incident"' /var/lib/headroom/audit.jsonl 2>/dev/null && exit 0; sleep 1; done; exit 1`, { timeoutMs: 240_000 });
    const left = await stillRunning(guestNow, run.jobPids);
    const stopped = run.jobPids.filter((p) => !left.includes(p));
    const failed = run.probes.filter((p) => !p.ok).length;
    const answered = run.probes.filter((p) => p.avail !== undefined);
    const last = answered.at(-1);
    const pastLine = answered.filter((p) => (p.avail ?? 0) < 0.03 * run.memTotal).length;
    log(`dozen: ${stopped.length}/${run.jobPids.length} jobs stopped, ${failed}/${run.probes.length} probes failed, worst ${Math.max(...run.probes.map((p) => p.ms))} ms, ${pastLine} probes with MemAvailable < 3 %, last MemAvailable ${((last?.avail ?? 0) / MiB).toFixed(0)} MiB of ${(run.memTotal / MiB).toFixed(0)} MiB at t=${last?.t.toFixed(0)} s`);
    log(`dozen probes (t s, answered ms or x, MemAvailable MiB, jobs alive): ${run.probes.map((p) => `${p.t.toFixed(0)}:${p.ok ? p.ms : 'x'}:${p.avail === undefined ? '-' : (p.avail / MiB).toFixed(0)}:${p.alive ?? '-'}`).join(' ')}`);
    const audit = (await guestNow.ok('cat /var/lib/headroom/audit.jsonl')).trim().split('\n').map((l) => JSON.parse(l) as {
      ts: string; event: string; source: string; reasonCode: string; target?: { kind: string; root?: { pid: number } };
      incidentId?: string; victims?: { pid: number }[]; repeated?: { count: number };
    });
    const actions = audit.filter((e) => e.event === 'action');
    const refusals = audit.filter((e) => e.event === 'refusal');
    const incidents = audit.filter((e) => e.event === 'incident');
    const at = (ts: string): string => ((Date.parse(ts) - run.startedGuestMs) / 1000).toFixed(1);
    log(`dozen audit: ${actions.length} action(s) ${actions.map((a) => `${a.source}:${a.reasonCode}:${a.target?.root?.pid ?? a.target?.kind}@${at(a.ts)}s`).join(',')}; refusals ${refusals.map((r) => `${r.reasonCode}x${1 + (r.repeated?.count ?? 0)}`).join(',') || 'none'}; ${incidents.length} incident(s): ${incidents.map((i) => `${i.reasonCode}@${at(i.ts)}s[${(i.victims ?? []).map((v) => v.pid).join(' ')}]`).join(' | ')}`);
    // Cleanup first (by PID, the jobs only), so a failed assertion leaves no grower behind.
    await guestNow.run(`kill -9 ${run.jobPids.join(' ')} 2>/dev/null; rm -rf /tmp/dozen; true`, { timeoutMs: 60_000 });

    // Soft assertions: one run of this (the lane's longest test) reports every outcome that does not hold.
    // The guard acted, on jobs only, and stopped them until memory was back under the recovered line (used < 90 %).
    expect.soft(stopped.length).toBeGreaterThan(0);
    expect.soft(actions.length).toBeGreaterThan(0);
    for (const a of actions) {
      expect.soft(a.source).toBe('guard');
      expect.soft(run.jobPids).toContain(String(a.target?.root?.pid));
    }
    // Memory was seen back under the recovered line: the incident ended `recovered` (asserted below). After that
    // the remaining jobs (done growing), page cache and swap may take MemAvailable under 10 % again without
    // reaching the guard's own line (guard.available_below, 3 %), and the guard rightly does nothing (seen once:
    // 4 % available with 7 jobs alive, every probe answered in ~100 ms). Out of danger by the guard's definition:
    // at the end, and in the window's last 15 s, no probe saw MemAvailable under the guard line.
    const guardLine = 0.03 * run.memTotal;
    expect.soft(last?.avail ?? 0).toBeGreaterThanOrEqual(guardLine);
    const tail = run.probes.filter((p) => p.t >= (run.probes.at(-1)?.t ?? 0) - 15);
    expect.soft(tail.filter((p) => p.avail !== undefined && p.avail < guardLine)).toEqual([]);
    // sshd answered. A probe (one a second, 5 s timeout over the shared connection) can miss its 5 s while the
    // guest thrashes before the first victim is gone; under TCG on a loaded 2-core host 4 of 35 did (one 19 s
    // stall at load average 13, 2026-12-01), where the kernel alone loses ssh for about a minute. Bounded: at most
    // 5 failed, and every probe of the window's last 15 s (after recovery) answered.
    expect.soft(failed).toBeLessThanOrEqual(5);
    const end = run.probes.at(-1)?.t ?? 0;
    expect.soft(run.probes.filter((p) => p.t >= end - 15 && !p.ok)).toEqual([]);
    // No refusal for cooldown or the rate limit: while the host is past its line the guard goes on acting.
    expect.soft(refusals.filter((r) => ['cooldown', 'actions_per_window', 'rate_limited'].includes(r.reasonCode))).toEqual([]);
    // Nothing but the jobs killed: the kernel's OOM killer never had to act; sshd, the agent, the user manager,
    // journald and PID 1 are the same processes; every other process from before still runs.
    expect.soft(Number((await guestNow.ok("dmesg | grep -c 'Killed process' || true")).trim()) - oomBefore).toBe(0);
    expect.soft((await guestNow.ok(keyPids)).trim()).toBe(keyBefore);
    const after = new Set((await guestNow.ok(ps)).trim().split('\n'));
    const jobSet = new Set(run.jobPids);
    expect.soft(before.filter((p) => !after.has(p) && !jobSet.has(p.split(' ')[0] ?? '') && !/ (ps|awk|sh|bash|sshd|sleep|cat|cut|grep|systemctl|\(udev-worker\))$/.test(p))).toEqual([]);
    // ONE incident, naming every victim: the stopped jobs, in the order the guard stopped them; one report.
    expect.soft(incidents).toHaveLength(1);
    expect.soft(incidents[0]?.reasonCode, 'the incident ended because the host recovered').toBe('recovered');
    const victims = (incidents[0]?.victims ?? []).map((v) => String(v.pid));
    expect.soft([...victims].sort()).toEqual([...stopped].sort());
    expect.soft(victims).toEqual(actions.map((a) => String(a.target?.root?.pid)));
    expect.soft(new Set(actions.map((a) => a.incidentId))).toEqual(new Set([incidents[0]?.incidentId]));
    const reports = (await guestNow.ok('ls /var/lib/headroom/incidents/*.md 2>/dev/null; true')).trim().split('\n').filter(Boolean);
    expect.soft(reports).toHaveLength(1);
    const report = reports[0] === undefined ? '' : await guestNow.ok(`cat ${reports[0]}`);
    for (const pid of victims) expect.soft(report).toContain(pid);
  });
});

// CI runs on machines that can boot the guest: there, a reason not to is a failure, counted as one.
if (reason !== undefined && inCi) {
  describe('the real machine in CI', () => {
    it('boots here (CI=true)', () => {
      throw new Error(`CI=true and no guest can boot here: ${reason}`);
    });
  });
}
