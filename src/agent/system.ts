import { spawn } from 'node:child_process';
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { hostname, setPriority } from 'node:os';
import type { ToolResult } from '../evidence/capture.js';
import { findOnPath } from '../domain/executables.js';
import type { HostFacts } from '../domain/host.js';
import type { SystemCalls, Timers } from '../domain/world.js';
import { errorMessage, type Logger } from '../logging/logger.js';

/**
 * The real timers, system calls and host facts the agent's composition root (./agent.ts) wires in. Nothing
 * else in the agent imports this file: every layer below takes these as arguments (DEVELOPERS.md).
 */

/** Resolves after `ms`, or at once (without error) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Hands the event loop back (timers, I/O callbacks) and resumes right after: how long scans stay polite. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Real interval and one-shot timers. */
export const timers: Timers = {
  every(ms, fn) {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  },
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/** Signals, kernel control-file writes and CPU priority, for real. */
export const systemCalls: SystemCalls = {
  kill: (pid, signal) => process.kill(pid, signal),
  writeFile: (path, text) => writeFileSync(path, text),
  setPriority: (pid, priority) => setPriority(pid, priority),
};

/** SIGSTOP / SIGCONT for evidence capture (the victim cannot grow while it is read). */
export function pauseProcess(pid: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
  process.kill(pid, signal);
}

export function machineHostname(): string {
  return hostname();
}

/**
 * What kind of machine this is, from systeminformation, once at agent start (never per scrape): vendor and
 * model (a cloud VM says so, e.g. "Google Compute Engine"), OS, kernel, CPUs. A fact that cannot be read is
 * left out; a failure is logged and the agent starts without the facts.
 */
export async function readHostFacts(name: string, logger: Logger): Promise<HostFacts> {
  try {
    // Loaded here, once: an exporter-only agent never loads it.
    const si = (await import('systeminformation')).default;
    const [system, os, cpu] = await Promise.all([si.system(), si.osInfo(), si.cpu()]);
    const text = (s: string | undefined): string | undefined => (s === undefined || s.trim() === '' || s.trim() === '-' ? undefined : s.trim());
    const osName = [text(os.distro), text(os.release)].filter((s) => s !== undefined).join(' ');
    return {
      hostname: name,
      vendor: text(system.manufacturer),
      model: text(system.model),
      virtual: system.virtual,
      os: osName === '' ? undefined : osName,
      kernel: text(os.kernel),
      cpus: cpu.cores > 0 ? cpu.cores : undefined,
      cpuModel: [text(cpu.manufacturer), text(cpu.brand)].filter((s) => s !== undefined).join(' ') || undefined,
    };
  } catch (error) {
    logger.warn('host facts unavailable (systeminformation)', { error: errorMessage(error) });
    return { hostname: name };
  }
}

/** Whether a path is an executable regular file (searching PATH for a tool). */
export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    // Not there or not executable: "not this PATH entry".
    return false;
  }
}

/** Where an executable is on PATH (py-spy for evidence), or undefined. */
export function findExecutable(name: string, path: string | undefined): string | undefined {
  return findOnPath([name], path, isExecutable);
}

const MAX_TOOL_OUTPUT = 256 * 1024;

/**
 * Runs a tool (py-spy) and resolves at the latest at the timeout: then the tool is SIGKILLed by its PID and not
 * waited for, so a tool that hangs never delays the action.
 */
export function runWithTimeout(argv: readonly string[], timeoutMs: number): Promise<ToolResult> {
  return new Promise((resolve) => {
    const [file, ...args] = argv;
    if (file === undefined) {
      resolve({ timedOut: false, code: null, stdout: '', error: 'empty argv' });
      return;
    }
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    let done = false;
    const finish = (r: ToolResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) child.kill('SIGKILL');
      finish({ timedOut: true, code: null, stdout: out });
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      if (out.length < MAX_TOOL_OUTPUT) out += b.toString('utf8');
    });
    child.once('error', (error) => finish({ timedOut: false, code: null, stdout: out, error: error.message }));
    child.once('close', (code) => finish({ timedOut: false, code, stdout: out }));
  });
}
