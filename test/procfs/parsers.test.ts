import { describe, expect, it } from 'vitest';
import { parseCgroupV1Memory, parseCgroupV2Memory } from '../../src/procfs/parse/cgroup-memory.js';
import { MalformedError, parseFlatKeyed } from '../../src/procfs/parse/keyed.js';
import { parseMeminfo } from '../../src/procfs/parse/meminfo.js';
import { memoryCgroupPath, parseCmdline, parsePasswd, parsePidCgroup, parseSmapsRollupPss } from '../../src/procfs/parse/pid-misc.js';
import { PF_KTHREAD, parsePidStat } from '../../src/procfs/parse/pid-stat.js';
import { parsePidStatus } from '../../src/procfs/parse/pid-status.js';
import { parsePressure } from '../../src/procfs/parse/pressure.js';
import { parseProcStat } from '../../src/procfs/parse/proc-stat.js';

describe('parseMeminfo', () => {
  it('turns kB into bytes and keeps unit-less fields as they are', () => {
    const m = parseMeminfo('MemTotal:       1000 kB\nMemAvailable:    250 kB\nHugePages_Total:       3\n');
    expect(m.get('MemTotal')).toBe(1_024_000);
    expect(m.get('MemAvailable')).toBe(256_000);
    expect(m.get('HugePages_Total')).toBe(3);
  });
  it('leaves fields the kernel did not print absent, not 0', () => {
    const m = parseMeminfo('MemTotal: 1000 kB\nMemFree: 10 kB\n');
    expect(m.has('MemAvailable')).toBe(false);
    expect(m.get('MemAvailable')).toBeUndefined();
  });
  it('rejects files without MemTotal or with garbage', () => {
    expect(() => parseMeminfo('MemFree: 10 kB\n')).toThrow(MalformedError);
    expect(() => parseMeminfo('MemTotal: lots kB\n')).toThrow(/non-numeric/);
    expect(() => parseMeminfo('no colon here\n')).toThrow(/colon/);
  });
});

describe('parsePressure', () => {
  it('reads some and full lines, total in seconds', () => {
    const p = parsePressure('memory', 'some avg10=1.50 avg60=2.00 avg300=3.00 total=1500000\nfull avg10=0.50 avg60=0.25 avg300=0.00 total=250000\n');
    expect(p.some).toEqual({ avg10: 1.5, avg60: 2, avg300: 3, totalSeconds: 1.5 });
    expect(p.full?.totalSeconds).toBe(0.25);
  });
  it('keeps full absent when the kernel prints only some (cpu before 5.13)', () => {
    const p = parsePressure('cpu', 'some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n');
    expect(p.full).toBeUndefined();
    expect(p.some?.totalSeconds).toBe(0.000007);
  });
  it('rejects unknown lines and incomplete ones', () => {
    expect(() => parsePressure('io', 'partial avg10=0\n')).toThrow(MalformedError);
    expect(() => parsePressure('io', 'some avg10=0.00 total=5\n')).toThrow(/incomplete/);
  });
});

describe('parsePidStat', () => {
  const line = (comm: string, flags = 0x400000) =>
    `4242 (${comm}) R 1 4242 4200 0 -1 ${flags} 10 0 0 0 250 50 0 0 20 0 3 0 123456 1048576 300 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n`;
  it('reads the fixed fields after the last parenthesis', () => {
    const s = parsePidStat(line('python3'));
    expect(s).toMatchObject({ pid: 4242, comm: 'python3', state: 'R', ppid: 1, pgrp: 4242, session: 4200, utimeTicks: 250, stimeTicks: 50, startTicks: 123456, vsizeBytes: 1048576, rssPages: 300 });
  });
  it('handles a comm with spaces and parentheses', () => {
    expect(parsePidStat(line('a) (b) c')).comm).toBe('a) (b) c');
    expect(parsePidStat(line('a) (b) c')).ppid).toBe(1);
  });
  it('exposes the kernel-thread flag', () => {
    expect(parsePidStat(line('kworker/0:1', 0x208040)).flags & PF_KTHREAD).not.toBe(0);
  });
  it('rejects truncated files', () => {
    expect(() => parsePidStat('12 (x) S 1 2')).toThrow(MalformedError);
    expect(() => parsePidStat('garbage')).toThrow(MalformedError);
  });
});

describe('parsePidStatus', () => {
  it('reads uid and the memory fields in bytes', () => {
    const s = parsePidStatus('Name:\tpython3\nUid:\t1000\t1000\t1000\t1000\nVmSize:\t  100 kB\nVmRSS:\t  50 kB\nRssAnon:\t  40 kB\nRssFile:\t 10 kB\nVmSwap:\t 5 kB\n');
    expect(s).toEqual({ name: 'python3', uid: 1000, vmSizeBytes: 102400, vmRssBytes: 51200, rssAnonBytes: 40960, rssFileBytes: 10240, vmSwapBytes: 5120 });
  });
  it('keeps Vm* absent for kernel threads', () => {
    const s = parsePidStatus('Name:\tkthreadd\nUid:\t0\t0\t0\t0\n');
    expect(s.vmRssBytes).toBeUndefined();
    expect(s.vmSwapBytes).toBeUndefined();
  });
});

describe('small /proc files', () => {
  it('parses /proc/PID/cgroup and picks the memory cgroup (v1 first, then unified)', () => {
    const v1 = parsePidCgroup('12:memory:/a/b\n4:cpu,cpuacct:/a\n0::/x\n');
    expect(v1[1]?.controllers).toEqual(['cpu', 'cpuacct']);
    expect(memoryCgroupPath(v1)).toBe('/a/b');
    expect(memoryCgroupPath(parsePidCgroup('0::/user.slice/u.service\n'))).toBe('/user.slice/u.service');
    expect(() => parsePidCgroup('nonsense\n')).toThrow(MalformedError);
  });
  it('splits cmdline on NUL and keeps empty arguments', () => {
    expect(parseCmdline('python3\0train.py\0\0--x\0')).toEqual(['python3', 'train.py', '', '--x']);
    expect(parseCmdline('')).toEqual([]);
  });
  it('reads btime, passwd, flat keyed files and the PSS line', () => {
    expect(parseProcStat('cpu 1 2\nbtime 1700000000\n').bootTimeSeconds).toBe(1_700_000_000);
    expect(() => parseProcStat('cpu 1 2\n')).toThrow(MalformedError);
    expect(parsePasswd('root:x:0:0::/root:/bin/sh\nbad line\nml:x:1000:1000::/h:/bin/sh\n')).toEqual(new Map([[0, 'root'], [1000, 'ml']]));
    expect(parseFlatKeyed('oom_kill 3\nunder_oom 0\nweird\n')).toEqual(new Map([['oom_kill', 3], ['under_oom', 0]]));
    expect(parseSmapsRollupPss('Rss:  100 kB\nPss:   64 kB\n')).toBe(65536);
    expect(parseSmapsRollupPss('Rss:  100 kB\n')).toBeUndefined();
  });
});

describe('cgroup memory parsers', () => {
  it('v2: "max" means no limit (absent), events and working set', () => {
    const m = parseCgroupV2Memory('/job', {
      'memory.current': '1000\n',
      'memory.max': 'max\n',
      'memory.high': '800\n',
      'memory.stat': 'anon 600\nfile 400\ninactive_file 300\n',
      'memory.events': 'low 0\nhigh 4\nmax 2\noom 1\noom_kill 1\n',
      'memory.pressure': 'some avg10=0.00 avg60=0.00 avg300=0.00 total=2000000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\n',
    });
    expect(m.limitBytes).toBeUndefined();
    expect(m.highBytes).toBe(800);
    expect(m.workingSetBytes).toBe(700);
    expect(m.events).toEqual({ high: 4, max: 2, oom: 1, oom_kill: 1 });
    expect(m.peakBytes).toBeUndefined(); // memory.peak appeared in Linux 5.19
    expect(m.pressure?.full?.totalSeconds).toBe(1);
  });
  it('v1: PAGE_COUNTER_MAX means no limit; hierarchical counters; failcnt and oom_kill', () => {
    const m = parseCgroupV1Memory('/job', {
      'memory.usage_in_bytes': '5000\n',
      'memory.limit_in_bytes': '9223372036854771712\n',
      'memory.stat': 'rss 1\ncache 2\ntotal_rss 3000\ntotal_cache 2000\ntotal_inactive_file 1500\ntotal_swap 10\n',
      'memory.failcnt': '7\n',
      'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
    });
    expect(m.limitBytes).toBeUndefined();
    expect(m.anonBytes).toBe(3000);
    expect(m.workingSetBytes).toBe(3500);
    expect(m.swapBytes).toBe(10);
    expect(m.failcnt).toBe(7);
    expect(m.events).toEqual({ oom_kill: 2 });
  });
  it('v1: a finite limit and memsw give the swap limit', () => {
    const m = parseCgroupV1Memory('/job', {
      'memory.usage_in_bytes': '100\n',
      'memory.limit_in_bytes': '1000\n',
      'memory.memsw.limit_in_bytes': '1500\n',
      'memory.memsw.usage_in_bytes': '130\n',
    });
    expect(m.limitBytes).toBe(1000);
    expect(m.swapLimitBytes).toBe(500);
    expect(m.swapBytes).toBe(30);
    expect(m.workingSetBytes).toBeUndefined();
  });
  it('rejects a malformed usage file', () => {
    expect(() => parseCgroupV2Memory('/x', { 'memory.current': 'lots\n' })).toThrow(MalformedError);
  });
});
