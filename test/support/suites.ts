import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { whyNoGuest } from '../machine/guest.js';

/**
 * Every suite that may skip, with what it needs and why it would skip. A skip is never silent:
 * - when a suite skips, it prints `SKIP <id> (<file>): <reason>` (skipSuite below);
 * - `scripts/test` names every skipped suite and the reason on the lines before its closing line
 *   (test/support/skip-summary.ts, from .test-results.json and this registry);
 * - in CI (CI=true) a skip fails the run when the machine is of the kind the suite is for (`requiredHere`),
 *   and any skip that is not in this registry fails it too (there is no reason to show). HEADROOM_ALLOW_SKIP=id,…
 *   lets named skips pass in CI; HEADROOM_REQUIRE_SUITES=id,…|all makes named skips fail anywhere.
 * A new conditional suite (a guest lane, browser tests) adds an entry here and gates itself with skipSuite(id).
 */
export interface ConditionalSuite {
  readonly id: string;
  /** Repository-relative test file. */
  readonly file: string;
  /** Its top-level describe title (how the summary finds its skipped tests). */
  readonly title: string;
  /** What it needs, in words. */
  readonly needs: string;
  /** Why it cannot run on this machine now; undefined when it can. */
  readonly unavailable: () => string | undefined;
  /** Whether this machine is of the kind the suite is for: then a skip in CI is a failure. */
  readonly requiredHere: () => boolean;
}

const V1_MEMORY = '/sys/fs/cgroup/memory';
export const V1_FREEZER = '/sys/fs/cgroup/freezer';

/** Why no cgroup can be created under the v1 freezer hierarchy here (undefined: one can). */
export function v1FreezerUnavailable(root = V1_FREEZER): string | undefined {
  if (!existsSync(join(root, 'cgroup.procs'))) return `no cgroup v1 freezer hierarchy at ${root}`;
  return cannotCreateCgroup(root);
}

/** Why no cgroup can be created under the v1 memory controller here (undefined: one can). */
export function v1MemoryUnavailable(root = V1_MEMORY): string | undefined {
  if (!existsSync(join(root, 'memory.limit_in_bytes'))) return `no cgroup v1 memory controller at ${root}`;
  return cannotCreateCgroup(root);
}

/** Why no cgroup can be made under this hierarchy's root (a probe directory made and removed), or undefined. */
function cannotCreateCgroup(root: string): string | undefined {
  const probe = join(root, `headroom-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return `cannot create a cgroup under ${root} (${code}${code === 'EACCES' || code === 'EPERM' ? ': not root?' : ''})`;
  }
}

/** A cgroup v2 hierarchy with the memory controller enabled (at /sys/fs/cgroup or /sys/fs/cgroup/unified). */
export function v2HasMemory(roots: readonly string[] = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']): boolean {
  return roots.some((root) => {
    try {
      return readFileSync(join(root, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory');
    } catch {
      return false;
    }
  });
}

/** The machine kind the real-cgroup suites are for: a writable v1 memory cgroup, or v2 with memory. */
export function cgroupMemoryMachine(): boolean {
  return v1MemoryUnavailable() === undefined || v2HasMemory();
}

const v1Root = (): string | undefined => v1MemoryUnavailable() ?? (process.getuid?.() === 0 ? undefined : 'not running as root');

const asRoot = (why: () => string | undefined) => (): string | undefined => (process.getuid?.() === 0 ? why() : 'not running as root');

/** What the fleet test needs: root, the tools, a v1 memory cgroup, network namespaces. */
function fleetUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, cgroups)';
  for (const tool of ['ip', 'unshare', 'nsenter', 'curl', 'prometheus', 'prometheus-alertmanager', 'amtool', 'python3', 'openssl']) {
    if (spawnSync('which', [tool]).status !== 0) return `${tool} is not installed (scripts/install-deps.sh)`;
  }
  const v1 = v1MemoryUnavailable();
  if (v1 !== undefined) return v1;
  const probe = `hr-fleet-probe-${process.pid}`;
  if (spawnSync('ip', ['netns', 'add', probe]).status !== 0) return 'cannot create network namespaces';
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

export const CONDITIONAL_SUITES: readonly ConditionalSuite[] = [
  {
    id: 'real-machine-cgroup-v1',
    file: 'test/procfs/real-machine.test.ts',
    title: 'on this machine, for real (cgroup v1)',
    needs: 'a writable cgroup v1 memory controller (a 256 MiB hog in a 512 MiB cgroup, scraped for real)',
    unavailable: () => v1MemoryUnavailable(),
    requiredHere: cgroupMemoryMachine,
  },
  {
    id: 'crisis-replay',
    file: 'test/replay/crisis-replay.test.ts',
    title: 'crisis replay (real Prometheus, Alertmanager, cgroups)',
    needs: 'a writable cgroup v1 memory controller (the growing job runs in a hard-limited cgroup)',
    unavailable: () => v1MemoryUnavailable(),
    requiredHere: cgroupMemoryMachine,
  },
  {
    id: 'incident-replay',
    file: 'test/replay/incident-replay.test.ts',
    title: 'incident replay: several jobs past the line (real processes, v1 cgroup)',
    needs: 'a writable cgroup v1 memory controller (the jobs grow in a hard-limited sandbox the guard watches)',
    unavailable: () => v1MemoryUnavailable(),
    requiredHere: cgroupMemoryMachine,
  },
  {
    id: 'actions-cgroup-v1',
    file: 'test/actions/actions.test.ts',
    title: 'cgroup actions (v1 memory controller, hard limit 256M)',
    needs: 'a cgroup v1 memory controller (throttle and stop_cgroup on a real cgroup)',
    unavailable: () => v1MemoryUnavailable(),
    requiredHere: cgroupMemoryMachine,
  },
  {
    id: 'run-cgroup-v1',
    file: 'test/run/real-v1.test.ts',
    title: 'headroom run on this machine (cgroup v1)',
    needs: 'root and a cgroup v1 memory controller (headroom run creates the job cgroups)',
    unavailable: v1Root,
    requiredHere: cgroupMemoryMachine,
  },
  {
    id: 'evidence-cgroup-v1',
    file: 'test/evidence/evidence-real.test.ts',
    title: 'evidence captured before the kill (real processes, v1 cgroup)',
    needs: 'root and a writable cgroup v1 memory controller (the victims grow in a hard-limited cgroup)',
    unavailable: asRoot(() => v1MemoryUnavailable()),
    requiredHere: cgroupMemoryMachine,
  },
  {
    id: 'evidence-cgroup-freezer-v1',
    file: 'test/evidence/evidence-cgroup-real.test.ts',
    title: 'evidence for a cgroup target, frozen by the kernel before stop_cgroup (real processes, v1 memory + freezer)',
    needs: 'root, a writable cgroup v1 memory controller and the v1 freezer hierarchy at /sys/fs/cgroup/freezer',
    unavailable: asRoot(() => v1MemoryUnavailable() ?? v1FreezerUnavailable()),
    requiredHere: () => cgroupMemoryMachine() && existsSync(join(V1_FREEZER, 'cgroup.procs')),
  },
  {
    id: 'growth-cgroup-v1',
    file: 'test/history/growth-real.test.ts',
    title: 'growth history on a real growing process (v1 cgroup)',
    needs: 'root and a writable cgroup v1 memory controller (the growing process runs in a hard-limited cgroup)',
    unavailable: asRoot(() => v1MemoryUnavailable()),
    requiredHere: cgroupMemoryMachine,
  },
  {
    id: 'jobs-cgroup-v1',
    file: 'test/jobs/jobs-real.test.ts',
    title: 'headroom jobs on logs of real headroom run runs',
    needs: 'root and a cgroup v1 memory controller (real headroom run runs)',
    unavailable: v1Root,
    requiredHere: cgroupMemoryMachine,
  },
  {
    id: 'kube-node-cgroup-v1',
    file: 'test/kubernetes/real-node.test.ts',
    title: 'a pod process on a real node layout (cgroup v1, cgroupfs driver)',
    needs: 'a writable cgroup v1 memory controller (a kubelet-style cgroup tree)',
    unavailable: () => v1MemoryUnavailable(),
    requiredHere: cgroupMemoryMachine,
  },
  {
    id: 'tmpfs-cgroup-v1',
    file: 'test/unowned/tmpfs-real.test.ts',
    title: 'memory held in tmpfs, inside a hard-limited v1 cgroup',
    needs: 'root (mount -t tmpfs) and a writable cgroup v1 memory controller',
    unavailable: asRoot(() => v1MemoryUnavailable()),
    requiredHere: cgroupMemoryMachine,
  },
  {
    id: 'status-page-browser',
    file: 'test/web/browser.test.ts',
    title: 'status page in Chromium',
    needs: 'a writable cgroup v1 memory controller (the headroom run job) and Debian chromium (scripts/install-deps.sh)',
    unavailable: () => v1MemoryUnavailable() ?? (existsSync('/usr/bin/chromium') ? undefined : '/usr/bin/chromium is not installed (scripts/install-deps.sh)'),
    requiredHere: cgroupMemoryMachine,
  },
  {
    id: 'fleet-netns',
    file: 'test/fleet/fleet.test.ts',
    title: 'fleet: 3 hosts, central Prometheus, 2 clustered Alertmanagers, agents pulling their alerts',
    needs: 'root, network namespaces, a v1 memory cgroup, Prometheus, Alertmanager, amtool, curl, openssl',
    unavailable: fleetUnavailable,
    requiredHere: () => process.getuid?.() === 0 && cgroupMemoryMachine(),
  },
  {
    id: 'machine-guest',
    file: 'test/machine/machine.test.ts',
    title: 'the real machine (Debian 12 guest)',
    needs: 'qemu-system-x86, qemu-utils, debootstrap (or a cached image), root and disk space (docs/machine.md)',
    unavailable: whyNoGuest,
    requiredHere: () => process.platform === 'linux' && process.arch === 'x64',
  },
];

export function conditionalSuite(id: string): ConditionalSuite {
  const suite = CONDITIONAL_SUITES.find((s) => s.id === id);
  if (suite === undefined) throw new Error(`${id} is not in CONDITIONAL_SUITES (test/support/suites.ts)`);
  return suite;
}

/** For describe.skipIf: true when the suite cannot run here, after printing a SKIP line with the reason. */
export function skipSuite(id: string): boolean {
  const suite = conditionalSuite(id);
  const reason = suite.unavailable();
  if (reason === undefined) return false;
  console.warn(`SKIP ${id} (${suite.file}): ${reason}; needs ${suite.needs}`);
  return true;
}
