import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * The agent's "I am running" file: <remediation.state_dir>/agent.json, written when the agent listens and
 * removed when it stops. `headroom status` checks the PID and its start time against /proc, so a stale file
 * left by a crash (or a reused PID) is reported as "not running".
 */
export const AGENT_STATE_FILE = 'agent.json';

export const agentStateSchema = z.looseObject({
  pid: z.number().int().positive(),
  /** /proc/PID/stat starttime (clock ticks after boot): with the PID, the process identity. */
  startTicks: z.number().int().nonnegative(),
  url: z.string(),
  version: z.string(),
  startedAt: z.string(),
  guard: z.looseObject({
    enabled: z.boolean(),
    availableBelow: z.number(),
    minIntervalMs: z.number(),
    maxIntervalMs: z.number(),
    watchCgroup: z.string().optional(),
  }),
  notifyStateDir: z.string().optional(),
});

export type AgentState = z.infer<typeof agentStateSchema>;

export function agentStatePath(stateDir: string): string {
  return join(stateDir, AGENT_STATE_FILE);
}

/** Writes the file atomically (temp file, fsync, rename). */
export function writeAgentState(stateDir: string, state: AgentState): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o750 });
  const path = agentStatePath(stateDir);
  const tmp = `${path}.${state.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, `${JSON.stringify(state)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Removes the file if it still names `pid` (another agent on the same state_dir may have replaced it). */
export function removeAgentState(stateDir: string, pid: number): void {
  const path = agentStatePath(stateDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (parseAgentState(text).state?.pid === pid) rmSync(path, { force: true });
}

/** Parses the file's text; undefined with the reason when it is not an agent state. */
export function parseAgentState(text: string): { state?: AgentState; problem?: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  const r = agentStateSchema.safeParse(raw);
  return r.success ? { state: r.data } : { problem: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
}
