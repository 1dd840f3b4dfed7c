import type { ActionEnv, CgroupControl, ProcessControl } from '../actions/action.js';
import { errorMessage } from '../logging/logger.js';
import type { Plan, ProcessIdentity } from '../policy/types.js';
import { diagnose } from './diagnose.js';
import { CGROUP_EVIDENCE_FILES, parseCgroupMemoryEvidence, parseStatusEvidence } from './parse.js';
import { readProcessEvidence, type EvidenceReadDeps, type EvidenceReadOptions } from './read.js';
import type { CgroupEvidence, Evidence, PythonStacks } from './types.js';

/** The result of running an outside tool (py-spy) with a timeout; the runner kills it by PID on timeout. */
export interface ToolResult {
  readonly timedOut: boolean;
  readonly code: number | null;
  readonly stdout: string;
  readonly error?: string;
}

/** Everything capture touches, injected by the composition root. */
export interface EvidenceDeps {
  readonly read: Omit<EvidenceReadDeps, 'expired'>;
  /** Sends SIGSTOP / SIGCONT to one PID (identity is checked by the caller first). */
  readonly pause: (pid: number, signal: 'SIGSTOP' | 'SIGCONT') => void;
  /** Runs argv with a timeout (ms); resolves by the timeout at the latest, never rejects. */
  readonly runTool: (argv: readonly string[], timeoutMs: number) => Promise<ToolResult>;
  /** py-spy's path when it is on PATH, else undefined. */
  readonly pySpy: () => string | undefined;
  /** Monotonic seconds. */
  readonly monotonic: () => number;
  readonly now: () => Date;
}

export interface EvidenceSettings extends EvidenceReadOptions {
  readonly enabled: boolean;
  /** The whole capture (freeze, reads, py-spy) is bounded by this. */
  readonly budgetMs: number;
  readonly pySpy: boolean;
  /** py-spy output is cut to this many characters. */
  readonly maxStackChars: number;
}

/** What the pipeline gets back: the evidence, the action env to act with, and release() for what stays frozen. */
export interface CaptureSession {
  readonly evidence?: Evidence;
  /** One line for Slack, from the evidence. */
  readonly diagnosis?: string;
  /** Acts like the given env, except that a SIGTERM to a frozen process is followed by SIGCONT (so it can exit). */
  readonly env: ActionEnv;
  /** Thaws every process still frozen (dry run, failed or non-stopping action). Idempotent. */
  release(): void;
}

const key = (id: ProcessIdentity): string => `${id.pid}@${id.startTime}`;

/** ProcessControl that sends SIGCONT after SIGTERM to a process the capture froze. */
function thawingControl(inner: ProcessControl, frozen: Map<string, ProcessIdentity>, pause: EvidenceDeps['pause'], notes: string[]): ProcessControl {
  return {
    identify: (pid) => inner.identify(pid),
    descendants: (pid, cgroup) => inner.descendants(pid, cgroup),
    oomScoreAdj: (pid) => inner.oomScoreAdj(pid),
    setOomScoreAdj: (pid, v) => inner.setOomScoreAdj(pid, v),
    signal(id, signal) {
      const r = inner.signal(id, signal);
      const k = key(id);
      if (frozen.has(k)) {
        frozen.delete(k);
        // SIGKILL needs no SIGCONT; a stopped process only handles SIGTERM once it runs again.
        if (signal === 'SIGTERM' && r === 'sent') resume(id, pause, inner, notes);
      }
      return r;
    },
  };
}

function resume(id: ProcessIdentity, pause: EvidenceDeps['pause'], processes: ProcessControl, notes: string[]): void {
  if (processes.identify(id.pid)?.startTime !== id.startTime) return;
  try {
    pause(id.pid, 'SIGCONT');
  } catch (error) {
    notes.push(`SIGCONT to ${id.pid} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function skipped(at: Date, budgetMs: number, why: string): Evidence {
  return { at: at.toISOString(), frozen: 'none', frozenPids: 0, budgetMs, spentMs: 0, captured: false, notCaptured: [why], python: { status: 'skipped', detail: why } };
}

/**
 * Evidence for the victim of a stop_process_tree or stop_cgroup plan, captured BEFORE the action and never
 * making the machine less safe: skipped when the machine is stalling; otherwise the victim is frozen so it
 * cannot grow — a tree with SIGSTOP (identity-checked), a cgroup with the kernel's freezer (v2 cgroup.freeze,
 * v1 freezer.state where a freezer cgroup exists at the same path, else SIGSTOP on its tasks) — read within the
 * budget (what did not fit is named), py-spy dumps the Python stacks with the remaining budget, and the victim
 * stays frozen until the action signals it. Other plans: no evidence.
 */
export async function captureBeforeAction(
  deps: EvidenceDeps | undefined,
  settings: EvidenceSettings | undefined,
  plan: Plan,
  env: ActionEnv,
  o: { readonly stalling: boolean },
): Promise<CaptureSession> {
  const none: CaptureSession = { env, release: () => undefined };
  if (deps === undefined || settings === undefined || !settings.enabled) return none;
  const cgroupTarget = plan.target.kind === 'cgroup' && plan.action === 'stop_cgroup' ? plan.target.path : undefined;
  if (cgroupTarget === undefined && (plan.target.kind !== 'process' || plan.action !== 'stop_process_tree')) return none;
  const at = deps.now();
  if (o.stalling) {
    const evidence = skipped(at, settings.budgetMs, 'machine stalling (memory pressure): capture skipped so the action runs at once');
    return { ...none, evidence, diagnosis: diagnose(evidence) };
  }
  if (cgroupTarget !== undefined) {
    if (env.cgroups === undefined) return none;
    return captureCgroup(deps, settings, cgroupTarget, env, env.cgroups, at);
  }
  if (plan.target.kind !== 'process') return none;
  const started = deps.monotonic();
  const deadline = started + settings.budgetMs / 1000;
  const expired = (): boolean => deps.monotonic() >= deadline;
  const notes: string[] = [];
  const processes = env.processes;
  const root = plan.target.root;
  // Freeze: the planned tree plus children forked since the decision, each by identity.
  const members = new Map<string, ProcessIdentity>();
  for (const id of plan.target.tree) members.set(key(id), id);
  if (processes.identify(root.pid)?.startTime === root.startTime) for (const id of processes.descendants(root.pid)) members.set(key(id), id);
  const frozen = new Map<string, ProcessIdentity>();
  // A dry run changes nothing: the tree is read as it runs, not frozen.
  if (env.dryRun) notes.push('dry run: the tree was not frozen, so it may have changed while it was read');
  for (const id of env.dryRun ? [] : members.values()) {
    if (processes.identify(id.pid)?.startTime !== id.startTime) continue;
    try {
      deps.pause(id.pid, 'SIGSTOP');
      frozen.set(key(id), id);
    } catch (error) {
      notes.push(`SIGSTOP to ${id.pid} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const release = (): void => {
    for (const id of [...frozen.values()]) {
      frozen.delete(key(id));
      resume(id, deps.pause, processes, notes);
    }
  };
  let evidence: Evidence;
  try {
    const childPids = [...members.values()].filter((id) => id.pid !== root.pid).map((id) => id.pid);
    const proc = readProcessEvidence({ ...deps.read, expired }, { pid: root.pid, startTime: root.startTime, comm: plan.target.comm }, childPids, settings, notes);
    const python = await pythonStacks(deps, settings, root.pid, deadline, notes);
    evidence = {
      at: at.toISOString(),
      frozen: frozen.size > 0 ? 'sigstop' : 'none',
      frozenPids: frozen.size,
      budgetMs: settings.budgetMs,
      spentMs: Math.round((deps.monotonic() - started) * 1000),
      captured: true,
      notCaptured: notes,
      process: proc,
      python,
    };
  } catch (error) {
    // Capture must never stand between the decision and the action: record why, and act.
    notes.push(`capture failed: ${error instanceof Error ? error.message : String(error)}`);
    evidence = { ...skipped(at, settings.budgetMs, notes.join('; ')), frozen: frozen.size > 0 ? 'sigstop' : 'none', frozenPids: frozen.size, spentMs: Math.round((deps.monotonic() - started) * 1000) };
  }
  return { evidence, diagnosis: diagnose(evidence), env: { ...env, processes: thawingControl(processes, frozen, deps.pause, notes) }, release };
}

/** SIGSTOP for each identified task (the fallback where no freezer cgroup exists); returns the stopped ones. */
function stopEach(ids: Iterable<ProcessIdentity>, processes: ProcessControl, pause: EvidenceDeps['pause'], notes: string[]): Map<string, ProcessIdentity> {
  const frozen = new Map<string, ProcessIdentity>();
  for (const id of ids) {
    if (processes.identify(id.pid)?.startTime !== id.startTime) continue;
    try {
      pause(id.pid, 'SIGSTOP');
      frozen.set(key(id), id);
    } catch (error) {
      notes.push(`SIGSTOP to ${id.pid} failed: ${errorMessage(error)}`);
    }
  }
  return frozen;
}

/** At most this many tasks of a cgroup are looked at to find the largest (each is one /proc/PID/status read). */
const MAX_CGROUP_TASKS_RANKED = 256;

/**
 * A cgroup target: freeze the whole cgroup with the kernel's freezer (or SIGSTOP its tasks where there is none),
 * read its accounting and the evidence of its largest task (resident + swap) with the others as children, and
 * thaw it as soon as the action has signalled it: a frozen v1 task does not even die from SIGKILL until thawed.
 */
async function captureCgroup(deps: EvidenceDeps, settings: EvidenceSettings, path: string, env: ActionEnv, cg: CgroupControl, at: Date): Promise<CaptureSession> {
  const started = deps.monotonic();
  const deadline = started + settings.budgetMs / 1000;
  const expired = (): boolean => deps.monotonic() >= deadline;
  const notes: string[] = [];
  const processes = env.processes;
  const identities = (): ProcessIdentity[] =>
    cg
      .pids(path)
      .map((pid) => processes.identify(pid))
      .filter((x): x is NonNullable<typeof x> => x !== undefined)
      .map((x) => ({ pid: x.pid, startTime: x.startTime }));
  let frozenBy: Evidence['frozen'] = 'none';
  let cgroupFrozen = false;
  let stopped = new Map<string, ProcessIdentity>();
  const freezer = cg.freezer;
  if (env.dryRun) notes.push('dry run: the cgroup was not frozen, so it may have changed while it was read');
  else {
    let asked = false;
    if (freezer !== undefined) {
      try {
        asked = freezer.freeze(path);
      } catch (error) {
        notes.push(`freezing ${path} (${freezer.kind}) failed: ${errorMessage(error)}; its tasks were stopped with SIGSTOP instead`);
      }
      if (asked) {
        cgroupFrozen = true;
        // The kernel freezes asynchronously: wait for it, with at most half the budget.
        const waitEnd = started + settings.budgetMs / 2000;
        while (!freezer.isFrozen(path) && deps.monotonic() < waitEnd) await env.sleep(5);
        if (freezer.isFrozen(path)) frozenBy = freezer.kind;
        else notes.push(`${path} was still freezing after ${Math.round((deps.monotonic() - started) * 1000)} ms: read while partly frozen`);
      } else if (freezer.kind === 'cgroup_v1_freezer') {
        notes.push(`no v1 freezer cgroup at ${path}: its tasks were stopped with SIGSTOP instead`);
      }
    }
    if (!asked) {
      stopped = stopEach(identities(), processes, deps.pause, notes);
      if (stopped.size > 0) frozenBy = 'sigstop';
    }
  }
  let thawed = !cgroupFrozen;
  const thaw = (): void => {
    if (thawed || freezer === undefined) return;
    thawed = true;
    try {
      freezer.thaw(path);
    } catch (error) {
      notes.push(`thawing ${path} failed: ${errorMessage(error)}`);
    }
  };
  const release = (): void => {
    thaw();
    for (const id of [...stopped.values()]) {
      stopped.delete(key(id));
      resume(id, deps.pause, processes, notes);
    }
  };
  let evidence: Evidence;
  try {
    const ids = identities();
    // The largest task by resident + swap (bounded: one status read each) carries the process evidence.
    let largest: { id: ProcessIdentity; bytes: number } | undefined;
    for (const id of ids.slice(0, MAX_CGROUP_TASKS_RANKED)) {
      if (expired()) {
        notes.push('largest task: capture budget spent while ranking the tasks');
        break;
      }
      const text = deps.read.files.readOptional(`${deps.read.procRoot}/${id.pid}/status`);
      if (text === undefined) continue;
      const st = parseStatusEvidence(text);
      const bytes = (st.rssBytes ?? 0) + (st.swapBytes ?? 0);
      if (largest === undefined || bytes > largest.bytes) largest = { id, bytes };
    }
    if (ids.length > MAX_CGROUP_TASKS_RANKED) notes.push(`largest task: only the first ${MAX_CGROUP_TASKS_RANKED} of ${ids.length} tasks ranked`);
    const texts: Record<string, string | undefined> = {};
    for (const name of CGROUP_EVIDENCE_FILES[cg.version]) texts[name] = cg.read(path, name);
    const cgroup: CgroupEvidence = {
      path,
      tasks: ids.length,
      ...parseCgroupMemoryEvidence(cg.version, texts),
      ...(largest !== undefined ? { largestPid: largest.id.pid } : {}),
    };
    const proc =
      largest === undefined
        ? undefined
        : readProcessEvidence(
            { ...deps.read, expired },
            { ...largest.id, comm: deps.read.files.readOptional(`${deps.read.procRoot}/${largest.id.pid}/comm`)?.trim() ?? '?' },
            ids.filter((id) => id.pid !== largest.id.pid).map((id) => id.pid),
            settings,
            notes,
          );
    const python = largest === undefined ? ({ status: 'skipped', detail: 'no task in the cgroup' } as const) : await pythonStacks(deps, settings, largest.id.pid, deadline, notes);
    evidence = {
      at: at.toISOString(),
      frozen: frozenBy,
      frozenPids: frozenBy === 'sigstop' ? stopped.size : frozenBy === 'none' ? 0 : ids.length,
      budgetMs: settings.budgetMs,
      spentMs: Math.round((deps.monotonic() - started) * 1000),
      captured: true,
      notCaptured: notes,
      ...(proc !== undefined ? { process: proc } : {}),
      cgroup,
      python,
    };
  } catch (error) {
    notes.push(`capture failed: ${errorMessage(error)}`);
    evidence = { ...skipped(at, settings.budgetMs, notes.join('; ')), frozen: frozenBy, spentMs: Math.round((deps.monotonic() - started) * 1000) };
  }
  // Thaw once the action has signalled the cgroup: at its first wait after a signal or a cgroup.kill write
  // (every task of the round has its signal pending by then), or at release() when it never signals.
  let signalled = false;
  const control = thawingControl(processes, stopped, deps.pause, notes);
  const actEnv: ActionEnv = {
    ...env,
    processes: {
      identify: (pid) => control.identify(pid),
      descendants: (pid, c) => control.descendants(pid, c),
      oomScoreAdj: (pid) => control.oomScoreAdj(pid),
      setOomScoreAdj: (pid, v) => control.setOomScoreAdj(pid, v),
      signal(id, signal) {
        const r = control.signal(id, signal);
        if (r === 'sent') signalled = true;
        return r;
      },
    },
    cgroups: {
      version: cg.version,
      ...(cg.freezer !== undefined ? { freezer: cg.freezer } : {}),
      read: (p, f) => cg.read(p, f),
      pids: (p) => cg.pids(p),
      write(p, f, v) {
        cg.write(p, f, v);
        if (f === 'cgroup.kill') signalled = true;
      },
    },
    sleep: async (ms) => {
      if (signalled) thaw();
      await env.sleep(ms);
    },
  };
  return { evidence, diagnosis: diagnose(evidence), env: actEnv, release };
}

async function pythonStacks(deps: EvidenceDeps, settings: EvidenceSettings, pid: number, deadline: number, notes: string[]): Promise<PythonStacks> {
  if (!settings.pySpy) return { status: 'skipped', detail: 'py-spy disabled (remediation.evidence.py_spy: false)' };
  const path = deps.pySpy();
  if (path === undefined) {
    notes.push('Python stacks: py-spy is not on PATH (optional: pip install py-spy)');
    return { status: 'not_available', detail: 'py-spy is not on PATH' };
  }
  const remainingMs = Math.floor((deadline - deps.monotonic()) * 1000);
  if (remainingMs < 20) {
    notes.push('Python stacks: capture budget spent before py-spy could run');
    return { status: 'timed_out', detail: 'budget spent before py-spy ran' };
  }
  const r = await deps.runTool([path, 'dump', '--pid', String(pid)], remainingMs);
  if (r.timedOut) {
    notes.push(`Python stacks: py-spy did not answer within the remaining ${remainingMs} ms of the budget (stopped)`);
    return { status: 'timed_out', detail: `no answer within ${remainingMs} ms` };
  }
  if (r.code !== 0 || r.error !== undefined) {
    const why = r.error ?? `exit code ${r.code ?? '?'}`;
    notes.push(`Python stacks: py-spy failed (${why})`);
    return { status: 'failed', detail: why };
  }
  const text = r.stdout.length > settings.maxStackChars ? `${r.stdout.slice(0, settings.maxStackChars)}\n… (cut at ${settings.maxStackChars} characters)` : r.stdout;
  return { status: 'captured', text };
}
