import { describe, expect, it } from 'vitest';
import { diagnose } from '../../src/evidence/diagnose.js';
import { filterEnviron, parseIo, parseStatusEvidence } from '../../src/evidence/parse.js';
import { renderEvidenceSection } from '../../src/evidence/render.js';
import type { Evidence } from '../../src/evidence/types.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

describe('evidence parsers (pure)', () => {
  it('reads threads, uid and the memory breakdown from /proc/PID/status; absent fields stay absent', () => {
    const status = ['Name:\tpython3', 'Uid:\t1000\t1000\t1000\t1000', 'VmRSS:\t  2048 kB', 'RssAnon:\t  1024 kB', 'RssFile:\t  512 kB', 'RssShmem:\t 512 kB', 'Threads:\t64', ''].join('\n');
    expect(parseStatusEvidence(status)).toEqual({ threads: 64, uid: 1000, rssBytes: 2048 * 1024, anonBytes: 1024 * 1024, fileBytes: 512 * 1024, shmemBytes: 512 * 1024, swapBytes: undefined });
  });

  it('reads /proc/PID/io', () => {
    expect(parseIo('rchar: 100\nwchar: 20\nsyscr: 3\nread_bytes: 4096\nwrite_bytes: 0\ncancelled_write_bytes: 0\n')).toEqual({ rchar: 100, wchar: 20, readBytes: 4096, writeBytes: 0 });
  });

  it('copies only allowlisted values out of environ; unset allowlisted names are null; others are only counted', () => {
    const raw = 'PATH=/usr/bin\0POLARS_MAX_THREADS=8\0AWS_SECRET_ACCESS_KEY=hunter2\0OMP_NUM_THREADS=\0BROKEN\0';
    const r = filterEnviron(Buffer.from(raw), ['POLARS_MAX_THREADS', 'OMP_NUM_THREADS', 'MALLOC_ARENA_MAX']);
    expect(r).toEqual({ env: { POLARS_MAX_THREADS: '8', OMP_NUM_THREADS: '', MALLOC_ARENA_MAX: null }, others: 3 });
    expect(JSON.stringify(r)).not.toContain('hunter2');
  });
});

function evidence(over: Partial<Evidence> = {}): Evidence {
  return {
    at: '2026-12-01T09:00:00.000Z',
    frozen: 'sigstop',
    frozenPids: 3,
    budgetMs: 400,
    spentMs: 41,
    captured: true,
    notCaptured: ['Python stacks: py-spy is not on PATH (optional: pip install py-spy)'],
    process: {
      pid: 449948,
      startTime: '1.00',
      comm: 'python3',
      cmdline: ['python3', 'pipelines/training/parallel_feature_testing.py', 'single', 'audusd'],
      cwd: '/home/ml/repo',
      exe: '/usr/bin/python3.11',
      uid: 1000,
      user: 'ml',
      threads: 64,
      memory: { rssBytes: 40 * GiB, anonBytes: 38 * GiB, fileBytes: 2 * GiB, shmemBytes: 0, swapBytes: 3 * GiB },
      io: { readBytes: 19 * GiB, writeBytes: 0, rchar: 20 * GiB, wchar: 1024 },
      openFiles: [{ fd: 5, path: '/data/audusd.parquet', sizeBytes: 18.3 * GiB }, { fd: 6, path: '/data/eurusd.parquet', sizeBytes: 2 * GiB }],
      openFds: 12,
      env: { POLARS_MAX_THREADS: null, OMP_NUM_THREADS: '8' },
      envOthers: 41,
      children: [{ pid: 449950, comm: 'python3', cmdline: 'python3 -c worker', residentBytes: 512 * MiB }],
    },
    python: { status: 'not_available', detail: 'py-spy is not on PATH' },
    ...over,
  };
}

describe('diagnosis and report section (pure)', () => {
  it('one line for Slack, as in the issue', () => {
    expect(diagnose(evidence())).toBe(
      'reading /data/audusd.parquet (18.3 GiB) and 1 more open file, 64 threads, 1 child (512 MiB), POLARS_MAX_THREADS unset, OMP_NUM_THREADS=8, 38.0 GiB anonymous, 3.0 GiB swapped, read 19.0 GiB from storage',
    );
    expect(diagnose(evidence({ captured: false, process: undefined, notCaptured: ['machine stalling (memory pressure): capture skipped so the action runs at once'] }))).toBe(
      'no evidence captured: machine stalling (memory pressure): capture skipped so the action runs at once',
    );
  });

  it('renders the Evidence section: files with sizes, children, allowlisted variables, what was not captured', () => {
    const md = renderEvidenceSection(evidence()).join('\n');
    expect(md).toContain('Captured 2026-12-01 09:00:00 UTC before the action, frozen with SIGSTOP (3 processes); 41 ms of a 400 ms budget.');
    expect(md).toContain('| 5 | `/data/audusd.parquet` | 18.3 GiB |');
    expect(md).toContain('| 449950 | `python3 -c worker` | 512 MiB |');
    expect(md).toContain('`POLARS_MAX_THREADS`=(unset), `OMP_NUM_THREADS`=`8`');
    expect(md).toContain('41 other variables not recorded');
    expect(md).toContain('| Memory | resident 40.0 GiB: anonymous 38.0 GiB, file 2.0 GiB, shared 0 B; swapped 3.0 GiB |');
    expect(md).toContain('Python stacks: not available (py-spy is not on PATH).');
    expect(md).toContain('- Python stacks: py-spy is not on PATH');
    const stacks = renderEvidenceSection(evidence({ python: { status: 'captured', text: 'Thread 1 (active): "MainThread"\n    collect (polars/lazyframe.py:1)' } })).join('\n');
    expect(stacks).toContain('```\nThread 1 (active): "MainThread"\n    collect (polars/lazyframe.py:1)\n```');
    expect(renderEvidenceSection(undefined).join('\n')).toContain('No evidence was captured');
  });
});
