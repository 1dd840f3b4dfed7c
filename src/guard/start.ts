import { writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { Registry } from 'prom-client';
import type { World } from '../domain/world.js';
import type { HeadroomConfig } from '../config/schema.js';
import { errorMessage } from '../logging/logger.js';
import type { NotificationSink } from '../notify/events.js';
import type { CgroupFs } from '../procfs/cgroupfs.js';
import type { FileReader } from '../procfs/file-reader.js';
import type { ProcFs } from '../procfs/procfs.js';
import { guardTrigger } from '../remediation/pipeline.js';
import { createLiveRemediation } from '../remediation/live.js';
import type { Remediation } from '../remediation/setup.js';
import { abortableSleep, runGuard, type GuardCrossing } from './guard.js';
import { readCgroupReading, readHostReading, type GuardReading } from './reading.js';

export interface RunningGuard {
  /** Present when the guard built its own remediation stack (no receiver): its metrics. */
  readonly registry?: Registry;
  stop(): Promise<void>;
}

export interface GuardIo {
  readonly proc: ProcFs;
  readonly cgroups: CgroupFs;
  readonly files: FileReader;
}

/**
 * Makes the agent harder to starve: lower its own oom_score_adj (the kernel OOM killer then picks the
 * runaway job, not the guard) and raise its CPU priority. Node cannot mlockall(2); the other half of staying
 * responsive is that the guard's poll reads two small files into a reused buffer and allocates almost nothing,
 * and the systemd unit gives the agent's cgroup MemoryMin= so its pages are not reclaimed (docs/guard.md).
 * Each step needs a privilege (CAP_SYS_RESOURCE, CAP_SYS_NICE); a missing one is logged, not fatal.
 */
export function hardenSelf(world: World, proc: ProcFs, writeFile: (path: string, text: string) => void): string[] {
  const done: string[] = [];
  try {
    writeFile(proc.path(String(world.pid), 'oom_score_adj'), '-900');
    done.push('oom_score_adj -900');
  } catch (error) {
    world.logger.warn('guard: could not lower the agent\'s oom_score_adj', { error: errorMessage(error) });
  }
  try {
    setPriority(world.pid, -5);
    done.push('nice -5');
  } catch (error) {
    world.logger.warn('guard: could not raise the agent\'s CPU priority', { error: errorMessage(error) });
  }
  return done;
}

/**
 * Starts the local guard in the agent. It shares the receiver's remediation stack when there is one (one
 * idempotency state, audit log, rate limits and incident store for both paths); otherwise it builds its own
 * on the same state directory.
 */
export function startGuard(
  config: HeadroomConfig,
  world: World,
  io: GuardIo,
  shared: Remediation | undefined,
  sink: NotificationSink | undefined,
): RunningGuard {
  const g = config.guard;
  let registry: Registry | undefined;
  let remediation = shared;
  if (remediation === undefined) {
    registry = new Registry();
    remediation = createLiveRemediation(config, world, io, { actionsEnabled: true, sink, registry });
    // remediation.protect_sshd runs at agent start whichever path builds the stack (the receiver does it too).
    remediation.protectSshd().catch((error: unknown) => world.logger.error('protect_sshd failed', { error: errorMessage(error) }));
  }
  const pipeline = remediation.pipeline;
  let read: () => GuardReading;
  if (g.watch_cgroup !== undefined) {
    const hierarchy = io.cgroups.detectMemoryHierarchy();
    if (hierarchy === undefined) throw new Error(`guard.watch_cgroup ${g.watch_cgroup}: no cgroup memory controller under ${io.cgroups.root}`);
    const path = g.watch_cgroup;
    read = () => readCgroupReading(io.cgroups, hierarchy, path);
    read(); // fail at start, not at the first poll, when the cgroup is missing or has no limit
  } else {
    read = () => readHostReading(io.proc);
  }
  const hardened = g.harden_self ? hardenSelf(world, io.proc, (p, t) => writeFileSync(p, t)) : [];
  const controller = new AbortController();
  const remediate = async (t: GuardCrossing): Promise<void> => {
    const outcome = await pipeline.handle(guardTrigger({ at: t.crossedAt, scope: t.watchCgroup, alertName: 'HeadroomGuard' }));
    const doneMs = world.monotonic() * 1000;
    world.logger.warn('guard decision', {
      cause: t.cause,
      reason: t.reason,
      outcome: outcome.kind,
      ...(outcome.kind === 'action' ? { action: outcome.action, result: outcome.result, incident: outcome.incidentId } : {}),
      ...(outcome.kind === 'refusal' ? { refusal: outcome.reasonCode, refusalReason: outcome.reason } : {}),
      crossingToDecisionMs: Math.round(t.firedAtMs - t.crossedAtMs),
      crossingToDoneMs: Math.round(doneMs - t.crossedAtMs),
    });
  };
  const loop = runGuard(
    {
      read,
      settings: {
        availableBelow: g.available_below,
        sustainMs: g.sustain,
        psiFullAbove: g.psi_full_above,
        psiSustainMs: g.psi_sustain,
        minIntervalMs: g.min_interval,
        maxIntervalMs: g.max_interval,
      },
      watchCgroup: g.watch_cgroup,
      monotonicMs: () => world.monotonic() * 1000,
      now: world.now,
      sleep: abortableSleep,
      remediate,
      logger: world.logger,
    },
    controller.signal,
  );
  world.logger.info('guard running', {
    scope: g.watch_cgroup === undefined ? 'host' : `cgroup ${g.watch_cgroup}`,
    availableBelow: g.available_below,
    psiFullAbove: g.psi_full_above,
    sharedWithReceiver: shared !== undefined,
    hardened,
  });
  return {
    ...(registry ? { registry } : {}),
    stop: async () => {
      controller.abort();
      await loop;
      if (shared === undefined) remediation.close();
    },
  };
}
