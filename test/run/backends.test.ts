import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { joinCgroupsArgv, parseProcs } from '../../src/run/backends/backend.js';
import { CgroupV1Backend, detectV1 } from '../../src/run/backends/cgroup-v1.js';
import { CgroupV2Backend, detectV2, oomKillsFromEvents } from '../../src/run/backends/cgroup-v2.js';
import { selectBackend } from '../../src/run/backends/select.js';
import { findOnPath, SystemdBackend, systemdRunArgv } from '../../src/run/backends/systemd.js';
import { fakeKernelIo, makeTree, removeTree } from './fake-cgroupfs.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const trees: string[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) removeTree(t);
});

function v1Tree(): string {
  const root = makeTree({
    'memory/memory.limit_in_bytes': '9223372036854771712\n',
    'memory/memory.memsw.limit_in_bytes': '9223372036854771712\n',
    'memory/memory.soft_limit_in_bytes': '9223372036854771712\n',
    'memory/memory.usage_in_bytes': '0\n',
    'memory/memory.failcnt': '0\n',
    'memory/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
    'memory/cgroup.procs': '',
    'cpu/cpu.cfs_quota_us': '-1\n',
    'cpu/cpu.cfs_period_us': '100000\n',
    'cpu/cgroup.procs': '',
    'cpuacct/cpuacct.usage': '0\n',
    'cpuacct/cgroup.procs': '',
  });
  trees.push(root);
  return root;
}

function v2Tree(controllers = 'cpuset cpu io memory pids'): string {
  const root = makeTree({
    'cgroup.controllers': `${controllers}\n`,
    'cgroup.subtree_control': '',
    'cgroup.procs': '1\n',
    'memory.pressure': 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
  });
  trees.push(root);
  return root;
}

describe('cgroup v1 backend (fake tree)', () => {
  it('writes memory.limit_in_bytes, memsw = limit + swap, soft limit and the CFS quota into headroom.slice/<leaf>', () => {
    const root = v1Tree();
    const io = fakeKernelIo();
    const hier = detectV1(io, root);
    if (typeof hier === 'string') throw new Error(hier);
    const b = new CgroupV1Backend(io, hier, 'headroom.slice/train-abc123', { memoryMaxBytes: 50 * GiB, memoryHighBytes: 40 * GiB, swapMaxBytes: 1 * GiB, cpuQuota: 1.5 });
    const applied = b.setup();
    const mem = join(root, 'memory/headroom.slice/train-abc123');
    const cpu = join(root, 'cpu/headroom.slice/train-abc123');
    expect(b.location).toBe(mem);
    expect(applied).toEqual([
      { target: join(mem, 'memory.limit_in_bytes'), value: String(50 * GiB) },
      { target: join(mem, 'memory.memsw.limit_in_bytes'), value: String(51 * GiB) },
      { target: join(mem, 'memory.soft_limit_in_bytes'), value: String(40 * GiB) },
      { target: join(cpu, 'cpu.cfs_period_us'), value: '100000' },
      { target: join(cpu, 'cpu.cfs_quota_us'), value: '150000' },
    ]);
    expect(readFileSync(join(mem, 'memory.limit_in_bytes'), 'utf8')).toBe('53687091200');
    expect(readFileSync(join(mem, 'memory.memsw.limit_in_bytes'), 'utf8')).toBe('54760833024');
    expect(readFileSync(join(cpu, 'cpu.cfs_quota_us'), 'utf8')).toBe('150000');
    // The job joins memory, cpu and cpuacct before it runs.
    expect(b.wrap(['python3', 'train.py'])).toEqual(
      joinCgroupsArgv(
        [join(mem, 'cgroup.procs'), join(cpu, 'cgroup.procs'), join(root, 'cpuacct/headroom.slice/train-abc123/cgroup.procs')],
        ['python3', 'train.py'],
      ),
    );
    expect(b.warnings).toEqual([]);
    b.remove();
    expect(io.isDir(mem)).toBe(false);
    expect(io.isDir(cpu)).toBe(false);
  });

  it('without memsw files, warns that swap is not limited and writes only the memory limit', () => {
    const root = v1Tree();
    rmSync(join(root, 'memory/memory.memsw.limit_in_bytes'));
    const io = fakeKernelIo();
    const hier = detectV1(io, root);
    if (typeof hier === 'string') throw new Error(hier);
    const b = new CgroupV1Backend(io, hier, 'headroom.slice/j-1', { memoryMaxBytes: 200 * MiB, swapMaxBytes: 0 });
    expect(b.setup().map((a) => a.target.split('/').pop())).toEqual(['memory.limit_in_bytes']);
    expect(b.warnings.join()).toMatch(/swap is not limited/);
  });

  it('samples usage, failcnt, oom_kill and cpuacct from the job directory', () => {
    const root = v1Tree();
    const io = fakeKernelIo();
    const hier = detectV1(io, root);
    if (typeof hier === 'string') throw new Error(hier);
    const b = new CgroupV1Backend(io, hier, 'headroom.slice/j-2', { memoryMaxBytes: 200 * MiB });
    b.setup();
    const mem = join(root, 'memory/headroom.slice/j-2');
    writeFileSync(join(mem, 'memory.usage_in_bytes'), '1048576\n');
    writeFileSync(join(mem, 'memory.max_usage_in_bytes'), '2097152\n');
    writeFileSync(join(mem, 'memory.failcnt'), '7\n');
    writeFileSync(join(mem, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
    writeFileSync(join(mem, 'memory.stat'), 'rss 4096\ntotal_rss 8192\n');
    writeFileSync(join(mem, 'cgroup.procs'), '101\n102\n');
    writeFileSync(join(root, 'cpuacct/headroom.slice/j-2/cpuacct.usage'), '2500000000\n');
    expect(b.sample()).toMatchObject({ memoryBytes: 1048576, peakBytes: 2097152, limitHits: 7, oomKills: 1, anonBytes: 8192, cpuSeconds: 2.5, processes: 2 });
    expect(b.pids()).toEqual([101, 102]);
  });

  it('reports a missing memory controller as the reason', () => {
    const root = makeTree({ 'unified/cgroup.controllers': '' });
    trees.push(root);
    expect(detectV1(fakeKernelIo(), root)).toMatch(/no cgroup v1 memory controller/);
  });
});

describe('cgroup v2 backend (fake tree)', () => {
  it('enables memory+cpu down to headroom.slice and writes memory.max/high/swap.max, cpu.max and memory.oom.group', () => {
    const root = v2Tree();
    const io = fakeKernelIo();
    const found = detectV2(io, root);
    if (typeof found === 'string') throw new Error(found);
    const b = new CgroupV2Backend(io, found.root, 'headroom.slice/train-xyz', { memoryMaxBytes: 50 * GiB, memoryHighBytes: 45 * GiB, swapMaxBytes: 0, cpuQuota: 0.8 });
    const applied = b.setup();
    const dir = join(root, 'headroom.slice/train-xyz');
    expect(applied).toEqual([
      { target: join(root, 'cgroup.subtree_control'), value: '+memory +cpu' },
      { target: join(root, 'headroom.slice/cgroup.subtree_control'), value: '+memory +cpu' },
      { target: join(dir, 'memory.max'), value: String(50 * GiB) },
      { target: join(dir, 'memory.high'), value: String(45 * GiB) },
      { target: join(dir, 'memory.swap.max'), value: '0' },
      { target: join(dir, 'cpu.max'), value: '80000 100000' },
      { target: join(dir, 'memory.oom.group'), value: '1' },
    ]);
    for (const [file, want] of [['memory.max', '53687091200'], ['memory.high', '48318382080'], ['memory.swap.max', '0'], ['cpu.max', '80000 100000'], ['memory.oom.group', '1']]) {
      expect(readFileSync(join(dir, file as string), 'utf8')).toBe(want);
    }
    expect(readFileSync(join(root, 'headroom.slice/cgroup.controllers'), 'utf8')).toBe('cpu memory');
    expect(b.wrap(['sleep', '1'])).toEqual(joinCgroupsArgv([join(dir, 'cgroup.procs')], ['sleep', '1']));
    b.remove();
    expect(io.isDir(dir)).toBe(false);
  });

  it('does not re-enable controllers that are already on, and warns when cpu is not available', () => {
    const root = v2Tree('memory pids');
    writeFileSync(join(root, 'cgroup.subtree_control'), 'memory pids');
    const io = fakeKernelIo();
    const b = new CgroupV2Backend(io, root, 'headroom.slice/j-1', { memoryMaxBytes: 512 * MiB, cpuQuota: 2 });
    b.setup();
    expect(io.writes.filter((w) => w.path === join(root, 'cgroup.subtree_control'))).toEqual([]);
    expect(b.warnings.join()).toMatch(/CPU quota not applied/);
    expect(io.read(join(root, 'headroom.slice/j-1/cpu.max'))).toBeUndefined();
  });

  it('samples memory.current, memory.events (max, oom_kill), cpu.stat and the cgroup PSI; a group kill counts its victim once', () => {
    const root = v2Tree();
    const io = fakeKernelIo();
    const b = new CgroupV2Backend(io, root, 'headroom.slice/j-2', { memoryMaxBytes: 512 * MiB });
    b.setup();
    const dir = join(root, 'headroom.slice/j-2');
    writeFileSync(join(dir, 'memory.current'), '4096\n');
    writeFileSync(join(dir, 'memory.peak'), '8192\n');
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 3\nmax 5\noom 1\noom_kill 2\noom_group_kill 1\n');
    writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 1500000\nnr_throttled 4\nthrottled_usec 250000\n');
    writeFileSync(join(dir, 'memory.pressure'), 'some avg10=1.50 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.75 avg60=0.00 avg300=0.00 total=1\n');
    expect(b.sample()).toMatchObject({
      memoryBytes: 4096,
      peakBytes: 8192,
      limitHits: 5,
      highEvents: 3,
      oomKills: 1,
      cpuSeconds: 1.5,
      throttledPeriods: 4,
      throttledSeconds: 0.25,
      pressure: { memorySome: 1.5, memoryFull: 0.75 },
    });
  });

  it('counts OOM kills once per process under memory.oom.group, and never below one per group kill', () => {
    const ev = (text: string): Map<string, number> => new Map(text.split(' ').map((kv) => kv.split('=') as [string, string]).map(([k, v]) => [k, Number(v)]));
    expect(oomKillsFromEvents(ev('oom_kill=1'))).toBe(1);
    expect(oomKillsFromEvents(ev('oom_kill=2 oom_group_kill=1'))).toBe(1);
    expect(oomKillsFromEvents(ev('oom_kill=4 oom_group_kill=1'))).toBe(3);
    // The victim exited before the group was walked: the kernel counted it once.
    expect(oomKillsFromEvents(ev('oom_kill=1 oom_group_kill=1'))).toBe(1);
    expect(oomKillsFromEvents(new Map())).toBeUndefined();
  });

  it('finds the v2 memory hierarchy at unified/ on a hybrid mount, and nothing when unified lacks memory', () => {
    const hybrid = makeTree({ 'unified/cgroup.controllers': 'cpu memory\n' });
    const noMem = makeTree({ 'unified/cgroup.controllers': '\n' });
    trees.push(hybrid, noMem);
    expect(detectV2(fakeKernelIo(), hybrid)).toEqual({ root: join(hybrid, 'unified') });
    expect(detectV2(fakeKernelIo(), noMem)).toMatch(/no cgroup v2 hierarchy with the memory controller/);
  });
});

describe('systemd backend', () => {
  it('builds the exact systemd-run argv: transient scope in headroom.slice with the limits as properties', () => {
    const argv = systemdRunArgv('/usr/bin/systemd-run', 'train-abc123.scope', { memoryMaxBytes: 50 * GiB, memoryHighBytes: 45 * GiB, swapMaxBytes: 0, cpuQuota: 0.8 }, ['python3', 'train.py', '--lr', '3'], 0);
    expect(argv).toEqual([
      '/usr/bin/systemd-run',
      '--scope',
      '--quiet',
      '--collect',
      '--unit=train-abc123.scope',
      '--slice=headroom.slice',
      '--property',
      'MemoryMax=53687091200',
      '--property',
      'MemoryHigh=48318382080',
      '--property',
      'MemorySwapMax=0',
      '--property',
      'CPUQuota=80%',
      '--',
      'python3',
      'train.py',
      '--lr',
      '3',
    ]);
  });

  it('uses the user manager for non-root users and reads accounting from its scope', () => {
    const b = new SystemdBackend(fakeKernelIo(), '/usr/bin/systemd-run', '/sys/fs/cgroup', 'job-1', { memoryMaxBytes: GiB }, 1000);
    expect(b.wrap(['true']).slice(0, 3)).toEqual(['/usr/bin/systemd-run', '--user', '--scope']);
    expect(b.location).toBe('/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/headroom.slice/headroom-job_1.slice/job-1.scope');
    expect(b.setup()).toEqual([{ target: 'job-1.scope MemoryMax', value: String(GiB) }]);
  });

  it('reads the accounting from the job slice, which outlives the scope, and stops that slice at the end', () => {
    const root = v2Tree();
    const sliceDir = join(root, 'headroom.slice', 'headroom-train_ab12.slice');
    const scopeDir = join(sliceDir, 'train-ab12.scope');
    mkdirSync(scopeDir, { recursive: true });
    writeFileSync(join(scopeDir, 'cgroup.procs'), '41\n42\n');
    writeFileSync(join(sliceDir, 'memory.events'), 'low 0\nhigh 0\nmax 64\noom 1\noom_kill 1\noom_group_kill 0\n');
    writeFileSync(join(sliceDir, 'memory.peak'), '104865792\n');
    const calls: (readonly string[])[] = [];
    const b = new SystemdBackend(fakeKernelIo(), '/usr/bin/systemd-run', root, 'train-ab12', { memoryMaxBytes: 100 * MiB }, 0, (args) => calls.push(args));
    expect(b.wrap(['python3'])).toContain('--slice=headroom-train_ab12.slice');
    expect(b.sample()).toMatchObject({ peakBytes: 104865792, limitHits: 64, oomKills: 1, processes: 2 });
    expect(b.pids()).toEqual([41, 42]);
    // The scope is gone (systemd removed it), the slice still holds the numbers.
    rmSync(scopeDir, { recursive: true });
    expect(b.sample()).toMatchObject({ peakBytes: 104865792, oomKills: 1, processes: 0 });
    b.remove();
    expect(calls).toEqual([['stop', 'headroom-train_ab12.slice']]);
  });

  it('is chosen first when systemd is PID 1 and systemd-run is on PATH', () => {
    const root = v2Tree();
    const runDir = makeTree({ 'marker': '' });
    trees.push(runDir);
    const io = fakeKernelIo();
    const result = selectBackend({
      io, cgroupRoot: root, choice: 'auto', leaf: 'j-1', limits: { memoryMaxBytes: GiB }, uid: 0,
      pathEnv: '/nowhere:/usr/bin', isExecutable: (f) => f === '/usr/bin/systemd-run', systemdRunDir: runDir,
    });
    expect(result.ok && result.backend.kind).toBe('systemd');
    expect(result.ok && result.backend.wrap(['true'])[0]).toBe('/usr/bin/systemd-run');
  });
});

describe('backend selection', () => {
  it('falls back systemd → v2 → v1 and says why each was skipped', () => {
    const root = v1Tree();
    const result = selectBackend({
      io: fakeKernelIo(), cgroupRoot: root, choice: 'auto', leaf: 'j-1', limits: { memoryMaxBytes: GiB }, uid: 0,
      pathEnv: '/usr/bin', isExecutable: () => false, systemdRunDir: join(root, 'no-such-dir'),
    });
    if (!result.ok) throw new Error(result.reasons.join('; '));
    expect(result.backend.kind).toBe('cgroup-v1');
    expect(result.skipped).toEqual(['systemd: not running as PID 1', expect.stringMatching(/^cgroup v2: no cgroup v2 hierarchy/)]);
    result.backend.remove();
  });

  it('refuses with "needs root or a delegated cgroup" when the hierarchy cannot be written', () => {
    const root = v1Tree();
    const io = fakeKernelIo();
    const denied = { ...io, mkdir: () => { throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }); } };
    const result = selectBackend({
      io: denied, cgroupRoot: root, choice: 'auto', leaf: 'j-1', limits: { memoryMaxBytes: GiB }, uid: 1000,
      pathEnv: '/usr/bin', isExecutable: () => false, systemdRunDir: join(root, 'none'),
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reasons.at(-1)).toMatch(/cgroup-v1: cannot create or configure .*headroom\.slice\/j-1 \(EACCES\): needs root or a delegated cgroup/);
  });

  it('with a forced backend tries only that one', () => {
    const root = v1Tree();
    const result = selectBackend({
      io: fakeKernelIo(), cgroupRoot: root, choice: 'cgroup-v2', leaf: 'j', limits: {}, uid: 0,
      pathEnv: '', isExecutable: () => false,
    });
    expect(result).toEqual({ ok: false, reasons: [expect.stringMatching(/^cgroup v2: no cgroup v2 hierarchy/)] });
  });
});

describe('join wrapper', () => {
  it('writes its own PID to every procs file, then execs the command with arguments untouched', () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-join-'));
    trees.push(dir);
    const a = join(dir, 'a procs');
    const b = join(dir, 'b;procs');
    writeFileSync(a, '');
    writeFileSync(b, '');
    const weird = ['$(touch x)', '"; rm -rf /tmp/nothing', '--', '*', ''];
    const argv = joinCgroupsArgv([a, b], ['/bin/sh', '-c', 'echo $$; printf "[%s]" "$@"', 'sh', ...weird]);
    const out = execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
    const [pidLine, args] = out.split('\n');
    // exec keeps the PID: the process that joined is the one that runs the command.
    expect(parseProcs(readFileSync(a, 'utf8'))).toEqual([Number(pidLine)]);
    expect(parseProcs(readFileSync(b, 'utf8'))).toEqual([Number(pidLine)]);
    expect(args).toBe(weird.map((w) => `[${w}]`).join(''));
  });

  it('exits 125 without running the command when it cannot join', () => {
    const argv = joinCgroupsArgv(['/nonexistent-dir/cgroup.procs'], ['/bin/echo', 'should not run']);
    let status: number | null = null;
    let stdout = '';
    try {
      execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      status = (error as { status: number | null }).status;
      stdout = String((error as { stdout: unknown }).stdout);
    }
    expect(status).toBe(125);
    expect(stdout).toBe('');
  });

  it('finds programs on PATH like command -v', () => {
    expect(findOnPath('python3', '/a:/b', (f) => f === '/b/python3')).toBe('/b/python3');
    expect(findOnPath('./x', '/a', (f) => f === './x')).toBe('./x');
    expect(findOnPath('nope', '/a:/b', () => false)).toBeUndefined();
  });
});
