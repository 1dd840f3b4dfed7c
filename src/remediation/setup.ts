import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { ActionEnv, ActionReport } from '../actions/action.js';
import { LiveCgroupControl } from '../actions/cgroup-control.js';
import { ACTIONS } from '../actions/index.js';
import { LiveProcessControl, type KillFn } from '../actions/process-control.js';
import { FileAuditLog, stamped } from '../audit/audit-log.js';
import type { HeadroomConfig } from '../config/schema.js';
import type { HostFacts } from '../domain/host.js';
import { IncidentStore } from '../incidents/store.js';
import { errorMessage, type Logger } from '../logging/logger.js';
import type { Notification, NotificationSink } from '../notify/events.js';
import { planProtectSshd } from '../policy/protect-plan.js';
import { policySettings } from '../policy/settings.js';
import type { CgroupFs } from '../procfs/cgroupfs.js';
import type { FileReader } from '../procfs/file-reader.js';
import type { ProcFs } from '../procfs/procfs.js';
import type { TreeFs } from '../procfs/tree-fs.js';
import { parsePasswd } from '../procfs/parse/pid-misc.js';
import { readMemoryElsewhere } from '../unowned/read.js';
import type { EvidenceDeps, ToolResult } from '../evidence/capture.js';
import type { GrowthSource } from './growth-source.js';
import { IdempotencyStore } from './idempotency.js';
import { createRemediationMetrics, type ReceiverMetrics, type RemediationMetrics } from './metrics.js';
import { RemediationPipeline, type PipelineDeps } from './pipeline.js';
import { hostMemory, LiveSnapshotReader, yieldingReader, type SnapshotReader } from './snapshot.js';

/** What the remediation stack needs from the outside world; only entry points (agent, bench) build this. */
export interface RemediationSetupOptions {
  readonly config: HeadroomConfig;
  readonly proc: ProcFs;
  readonly cgroups: CgroupFs;
  readonly files: FileReader;
  readonly self: { readonly pid: number; readonly ppid: number };
  readonly host: string;
  /** False without a receiver credential: notify only. The guard passes true. */
  readonly actionsEnabled: boolean;
  readonly now: () => Date;
  readonly monotonic: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly kill: KillFn;
  readonly writeFile: (path: string, text: string) => void;
  readonly sink: NotificationSink;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Replaces the live snapshot reader (tests and benchmarks restrict the process table). */
  readonly snapshots?: SnapshotReader;
  /**
   * Mounted file systems (statfs, listing): with it, a decision that cannot explain the memory says where it is
   * (tmpfs files, SysV shared memory, kernel slab). Without it, no such analysis.
   */
  readonly treeFs?: TreeFs;
  /**
   * Evidence capture before a victim is stopped (with treeFs): SIGSTOP/SIGCONT by PID, a tool runner with a
   * timeout (py-spy), and where py-spy is. Without them, no evidence is captured.
   */
  readonly evidenceIo?: {
    readonly pause: (pid: number, signal: 'SIGSTOP' | 'SIGCONT') => void;
    readonly runTool: (argv: readonly string[], timeoutMs: number) => Promise<ToolResult>;
    readonly pySpy: () => string | undefined;
  };
  /** The actions by name (ACTIONS unless a test injects others). */
  readonly actions?: PipelineDeps['actions'];
  /** Hands the event loop back during scans and between triggers (setImmediate in the agent; absent: no yielding). */
  readonly yieldToLoop?: () => Promise<void>;
  /** What kind of machine this is (incident reports, notifications). */
  readonly hostFacts?: HostFacts;
  /** The agent's short history (issue #11): Growth sections in reports, growth in warnings. */
  readonly growth?: GrowthSource;
  /** Overrides of action timing (tests). */
  readonly actionTiming?: Partial<Pick<ActionEnv, 'confirmTimeoutMs' | 'pollMs'>>;
}

export interface Remediation {
  readonly pipeline: RemediationPipeline;
  readonly snapshots: SnapshotReader;
  readonly audit: FileAuditLog;
  readonly state: IdempotencyStore;
  readonly incidents: IncidentStore;
  readonly metrics: RemediationMetrics & ReceiverMetrics;
  readonly actionEnv: Omit<ActionEnv, 'dryRun'>;
  /** remediation.protect_sshd at agent start (audited); undefined when not configured or no sshd runs. */
  protectSshd(): Promise<ActionReport | undefined>;
  close(): void;
}

/** A sink that only logs (used when the agent runs without the Slack notifier). */
export function loggingSink(logger: Logger): NotificationSink {
  return {
    publish: (n: Notification) => logger.info('notification', { kind: n.kind, alert: n.alertName, id: n.id }),
  };
}

/**
 * Builds the remediation stack (state dir, audit log, idempotency store, incidents, actions, pipeline) from
 * the config. The guard and the receiver share the returned pipeline.
 */
export function createRemediation(o: RemediationSetupOptions): Remediation {
  const cfg = o.config.remediation;
  const stateDir = cfg.state_dir;
  const audit = new FileAuditLog(join(stateDir, 'audit.jsonl'));
  const state = new IdempotencyStore(join(stateDir, 'idempotency.jsonl'), o.now().getTime(), cfg.state_retention);
  const incidents = new IncidentStore(join(stateDir, 'incidents'));
  const metrics = createRemediationMetrics(o.registry);
  const treeFs = o.treeFs;
  const users = new Map<number, string>();
  const userName = (uid: number): string => {
    if (!users.has(uid)) {
      const text = o.files.readOptional(o.config.agent.passwd);
      const names = text === undefined ? new Map<number, string>() : parsePasswd(text);
      users.set(uid, names.get(uid) ?? `uid ${uid}`);
    }
    return users.get(uid) ?? `uid ${uid}`;
  };
  const elsewhere =
    treeFs === undefined
      ? undefined
      : (meminfo: ReadonlyMap<string, number>) => {
          try {
            return readMemoryElsewhere({ proc: o.proc, files: o.files, fs: treeFs, userName, monotonic: o.monotonic }, meminfo);
          } catch (error) {
            // The analysis only explains a refusal; it must never block the decision. Logged, not lost.
            o.logger.warn('memory-elsewhere analysis failed', { error: errorMessage(error) });
            return undefined;
          }
        };
  const live = new LiveSnapshotReader(o.proc, o.cgroups, o.files, o.self, o.now, o.config.kubernetes.pod_logs_dir, elsewhere);
  const snapshots = o.snapshots ?? (o.yieldToLoop ? yieldingReader(live, o.yieldToLoop) : live);
  const hierarchy = live.memoryHierarchy();
  const bootTime = o.proc.stat().bootTimeSeconds;
  const actionEnv: Omit<ActionEnv, 'dryRun'> = {
    processes: new LiveProcessControl(o.proc, bootTime, o.kill, o.writeFile, hierarchy === undefined ? undefined : (cg) => o.cgroups.pidsWithin(hierarchy, cg)),
    cgroups:
      hierarchy === undefined
        ? undefined
        : // v1: the freezer hierarchy next to memory under the same cgroupfs mount (evidence capture freezes cgroup targets).
          new LiveCgroupControl(hierarchy, o.files, o.writeFile, hierarchy.version === 'v1' ? { v1FreezerRoot: join(o.cgroups.root, 'freezer') } : {}),
    meminfo: () => o.proc.meminfo(),
    writeFile: o.writeFile,
    dropCachesPath: o.proc.path('sys', 'vm', 'drop_caches'),
    sleep: o.sleep,
    monotonic: o.monotonic,
    killGraceMs: cfg.kill_grace,
    confirmTimeoutMs: o.actionTiming?.confirmTimeoutMs ?? 5000,
    pollMs: o.actionTiming?.pollMs ?? 100,
    throttleRatio: cfg.throttle.ratio,
    protectSshd: { oomScoreAdj: cfg.protect_sshd.oom_score_adj, memoryLowBytes: cfg.protect_sshd.memory_low },
  };
  const ev = cfg.evidence;
  const evidenceDeps: EvidenceDeps | undefined =
    o.evidenceIo === undefined || treeFs === undefined
      ? undefined
      : { read: { procRoot: o.proc.root, files: o.files, fs: treeFs, userName }, ...o.evidenceIo, monotonic: o.monotonic, now: o.now };
  const availableRatio = (scope: string | undefined): number | undefined => {
    if (scope === undefined) {
      const m = hostMemory(o.proc.meminfo());
      return m.totalBytes > 0 ? m.availableBytes / m.totalBytes : undefined;
    }
    if (hierarchy === undefined) return undefined;
    const m = o.cgroups.memory(hierarchy, scope);
    if (m?.limitBytes === undefined) return undefined;
    return Math.max(0, m.limitBytes - (m.workingSetBytes ?? m.usageBytes)) / m.limitBytes;
  };
  const pipeline = new RemediationPipeline({
    host: o.host,
    availableRatio,
    refusalEpisodeMaxMs: cfg.refusal_episode_max,
    settings: policySettings(cfg),
    dryRun: cfg.dry_run,
    actionsEnabled: o.actionsEnabled,
    refusalRecheckMs: cfg.refusal_recheck_after,
    snapshots,
    actionEnv,
    ...(o.actions ? { actions: o.actions } : {}),
    ...(o.hostFacts ? { hostFacts: o.hostFacts } : {}),
    ...(o.yieldToLoop ? { yieldToLoop: o.yieldToLoop } : {}),
    ...(o.growth ? { growth: o.growth } : {}),
    maxQueue: o.config.receiver.max_queue,
    now: o.now,
    monotonic: o.monotonic,
    audit,
    state,
    incidents,
    sink: o.sink,
    metrics,
    logger: o.logger,
    evidence:
      evidenceDeps === undefined
        ? undefined
        : {
            deps: evidenceDeps,
            settings: {
              enabled: ev.enabled,
              budgetMs: ev.budget,
              pySpy: ev.py_spy,
              envAllowlist: ev.env_allowlist,
              pssMaxResidentBytes: o.config.collectors.top_processes.pss.max_resident,
              maxFds: 4096,
              maxFiles: ev.max_open_files,
              maxChildren: 32,
              maxStackChars: 16_000,
            },
          },
  });
  return {
    pipeline,
    snapshots,
    audit,
    state,
    incidents,
    metrics,
    actionEnv,
    async protectSshd(): Promise<ActionReport | undefined> {
      if (!cfg.protect_sshd.enabled) return undefined;
      const plan = planProtectSshd(live.read());
      if (plan === undefined) {
        o.logger.warn('protect_sshd: no sshd process found');
        return undefined;
      }
      try {
        const report = await ACTIONS.protect.run(plan, { ...actionEnv, dryRun: cfg.dry_run });
        audit.append(stamped(o.now(), { event: 'protect', source: 'guard', reasonCode: report.result, reason: plan.reason, action: 'protect', dryRun: cfg.dry_run, detail: report.detail, before: report.before, after: report.after }));
        metrics.action('protect', report.result, 'guard');
        return report;
      } catch (error) {
        audit.append(stamped(o.now(), { event: 'protect', source: 'guard', reasonCode: 'error', reason: `protect_sshd failed: ${errorMessage(error)}` }));
        metrics.action('protect', 'error', 'guard');
        throw error;
      }
    },
    close(): void {
      audit.close();
      state.close();
    },
  };
}
