import type { ActionEnv, ProcessControl } from '../actions/action.js';
import type { Plan, ProcessIdentity } from '../policy/types.js';
import { diagnose } from './diagnose.js';
import { readProcessEvidence, type EvidenceReadDeps, type EvidenceReadOptions } from './read.js';
import type { Evidence, PythonStacks } from './types.js';

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
 * Evidence for the victim of a stop_process_tree plan, captured BEFORE the action and never making the machine
 * less safe: skipped when the machine is stalling; otherwise the tree is frozen (SIGSTOP, identity-checked)
 * so it cannot grow, read within the budget (what did not fit is named), py-spy dumps the Python stacks with
 * the remaining budget, and the tree stays frozen until the action signals it. Other plans: no evidence.
 */
export async function captureBeforeAction(
  deps: EvidenceDeps | undefined,
  settings: EvidenceSettings | undefined,
  plan: Plan,
  env: ActionEnv,
  o: { readonly stalling: boolean },
): Promise<CaptureSession> {
  const none: CaptureSession = { env, release: () => undefined };
  if (deps === undefined || settings === undefined || !settings.enabled || plan.target.kind !== 'process' || plan.action !== 'stop_process_tree') return none;
  const at = deps.now();
  if (o.stalling) {
    const evidence = skipped(at, settings.budgetMs, 'machine stalling (memory pressure): capture skipped so the action runs at once');
    return { ...none, evidence, diagnosis: diagnose(evidence) };
  }
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
