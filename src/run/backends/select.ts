import { join } from 'node:path';
import type { RunBackendChoice } from '../../config/sections/run.js';
import type { BackendKind, CgroupIo, JobBackend, JobLimits } from './backend.js';
import { CgroupV1Backend, detectV1 } from './cgroup-v1.js';
import { CgroupV2Backend, detectV2 } from './cgroup-v2.js';
import { findOnPath, SystemdBackend, systemdBooted, type Systemctl } from './systemd.js';

export interface SelectInput {
  readonly io: CgroupIo;
  /** cgroupfs mount point (normally /sys/fs/cgroup). */
  readonly cgroupRoot: string;
  readonly choice: RunBackendChoice;
  /** "<name>-<run id>" */
  readonly leaf: string;
  /** Parent of the job cgroups, e.g. "/headroom.slice" (run.cgroup_parent); systemd always uses headroom.slice. */
  readonly parent?: string;
  readonly limits: JobLimits;
  readonly uid: number;
  readonly pathEnv: string | undefined;
  readonly isExecutable: (file: string) => boolean;
  /** sd_booted marker directory (tests point it elsewhere). */
  readonly systemdRunDir?: string;
  /** systemctl, to stop the systemd backend's job slice at the end. */
  readonly systemctl?: Systemctl;
}

export type SelectResult =
  | { ok: true; backend: JobBackend; setup: ReturnType<JobBackend['setup']>; skipped: string[] }
  | { ok: false; reasons: string[] };

const ORDER: readonly BackendKind[] = ['systemd', 'cgroup-v2', 'cgroup-v1'];

/**
 * Picks the best backend that works here and sets it up: systemd (PID 1 + systemd-run), then a writable cgroup
 * v2 with the memory controller, then cgroup v1 memory (+cpu). With a forced choice only that one is tried.
 * Each one that cannot be used leaves a reason, so a refusal says exactly why.
 */
export function selectBackend(input: SelectInput): SelectResult {
  const reasons: string[] = [];
  const kinds = input.choice === 'auto' ? ORDER : [input.choice];
  const parent = (input.parent ?? '/headroom.slice').replace(/^\/+/, '');
  const rel = join(parent, input.leaf);
  for (const kind of kinds) {
    let backend: JobBackend;
    if (kind === 'systemd') {
      if (parent !== 'headroom.slice') {
        reasons.push(`systemd: run.cgroup_parent /${parent} is not headroom.slice (systemd places jobs in headroom.slice)`);
        continue;
      }
      if (!systemdBooted(input.io, input.systemdRunDir)) {
        reasons.push('systemd: not running as PID 1');
        continue;
      }
      const systemdRun = findOnPath('systemd-run', input.pathEnv, input.isExecutable);
      if (systemdRun === undefined) {
        reasons.push('systemd: systemd-run not found on PATH');
        continue;
      }
      const v2 = detectV2(input.io, input.cgroupRoot);
      backend = new SystemdBackend(input.io, systemdRun, typeof v2 === 'string' ? input.cgroupRoot : v2.root, input.leaf, input.limits, input.uid, input.systemctl);
    } else if (kind === 'cgroup-v2') {
      const v2 = detectV2(input.io, input.cgroupRoot);
      if (typeof v2 === 'string') {
        reasons.push(`cgroup v2: ${v2}`);
        continue;
      }
      backend = new CgroupV2Backend(input.io, v2.root, rel, input.limits);
    } else {
      const v1 = detectV1(input.io, input.cgroupRoot);
      if (typeof v1 === 'string') {
        reasons.push(`cgroup v1: ${v1}`);
        continue;
      }
      backend = new CgroupV1Backend(input.io, v1, rel, input.limits);
    }
    try {
      const setup = backend.setup();
      return { ok: true, backend, setup, skipped: reasons };
    } catch (error) {
      reasons.push(`${kind}: ${error instanceof Error ? error.message : String(error)}`);
      // A half-created cgroup must not stay behind; it is empty, so rmdir works.
      try {
        backend.remove();
      } catch (cleanupError) {
        reasons.push(`${kind}: could not remove the half-created cgroup: ${cleanupError instanceof Error ? cleanupError.message : String(cleanupError)}`);
      }
    }
  }
  return { ok: false, reasons };
}
