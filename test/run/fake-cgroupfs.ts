import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { nodeCgroupIo, type CgroupIo } from '../../src/run/backends/backend.js';

/** Writes a tree of files: { 'memory/memory.limit_in_bytes': '9223372036854771712\n', … }. */
export function makeTree(files: Readonly<Record<string, string>>): string {
  const root = mkdtempSync(join(tmpdir(), 'headroom-run-fake-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

export function removeTree(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

/** Fresh values of the control files a new cgroup gets (what the kernel shows in an empty cgroup). */
const FRESH: Readonly<Record<string, string>> = {
  'memory.limit_in_bytes': '9223372036854771712\n',
  'memory.memsw.limit_in_bytes': '9223372036854771712\n',
  'memory.soft_limit_in_bytes': '9223372036854771712\n',
  'cpu.cfs_quota_us': '-1\n',
  'cpu.cfs_period_us': '100000\n',
  'memory.max': 'max\n',
  'memory.high': 'max\n',
  'memory.swap.max': 'max\n',
  'cpu.max': 'max 100000\n',
  'memory.oom.group': '0\n',
  'cgroup.procs': '',
  'cgroup.subtree_control': '',
};

const V2_CONTROLLER_FILES: Readonly<Record<string, readonly string[]>> = {
  memory: ['memory.current', 'memory.max', 'memory.high', 'memory.swap.max', 'memory.oom.group', 'memory.events', 'memory.stat', 'memory.peak'],
  cpu: ['cpu.max', 'cpu.stat'],
};

/**
 * The real file system with one kernel behaviour added: a new directory gets the control files of its parent
 * (as the kernel creates them), with fresh values; in v2 its cgroup.controllers is the parent's
 * cgroup.subtree_control. Writes go to plain files, so a test reads back exactly what was written.
 */
export function fakeKernelIo(): CgroupIo & { writes: Array<{ path: string; value: string }> } {
  const io = nodeCgroupIo();
  const writes: Array<{ path: string; value: string }> = [];
  return {
    ...io,
    writes,
    write(path, value) {
      writes.push({ path, value });
      if (path.endsWith('cgroup.subtree_control')) {
        // The kernel applies "+memory +cpu" to the enabled set and shows the result as "cpu memory".
        const enabled = new Set((io.read(path) ?? '').split(/\s+/).filter((c) => c.length > 0));
        for (const token of value.split(/\s+/)) {
          if (token.startsWith('+')) enabled.add(token.slice(1));
          else if (token.startsWith('-')) enabled.delete(token.slice(1));
        }
        io.write(path, [...enabled].sort().join(' '));
        return;
      }
      io.write(path, value);
    },
    mkdir(path) {
      const parent = dirname(path);
      if (!io.isDir(parent)) this.mkdir(parent);
      if (io.isDir(path)) return;
      mkdirSync(path);
      // v2: the files of each controller enabled in the parent's subtree_control appear in the child.
      const enabled = (io.read(join(parent, 'cgroup.subtree_control')) ?? '').split(/\s+/);
      if (io.read(join(parent, 'cgroup.controllers')) !== undefined) {
        for (const [controller, files] of Object.entries(V2_CONTROLLER_FILES)) {
          if (!enabled.includes(controller)) continue;
          for (const name of files) writeFileSync(join(path, name), FRESH[name] ?? '0\n');
        }
      }
      for (const name of readdirSync(parent)) {
        if (/^(memory|cpu)\./.test(name) && io.read(join(parent, 'cgroup.controllers')) !== undefined) continue;
        if (!statSync(join(parent, name)).isFile()) continue;
        if (name === 'cgroup.controllers') {
          writeFileSync(join(path, name), readFileSync(join(parent, 'cgroup.subtree_control'), 'utf8'));
          continue;
        }
        writeFileSync(join(path, name), FRESH[name] ?? '0\n');
      }
    },
    rmdir(path) {
      // Like the kernel: a cgroup directory goes away with its control files, unless it has child cgroups.
      if (readdirSync(path).some((n) => statSync(join(path, n)).isDirectory())) throw Object.assign(new Error(`EBUSY: ${path}`), { code: 'EBUSY' });
      rmSync(path, { recursive: true });
    },
  };
}
