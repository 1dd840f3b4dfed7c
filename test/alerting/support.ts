import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';

/** Absolute path of a file in the repository. */
export function repo(...parts: string[]): string {
  return fileURLToPath(new URL(`../../${parts.join('/')}`, import.meta.url));
}

export function readYaml<T>(...parts: string[]): T {
  return load(readFileSync(repo(...parts), 'utf8')) as T;
}

/** A loopback port that was free a moment ago (bind port 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close((error) => (error ? reject(error) : resolve(port)));
    });
  });
}

/** Distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let i = 0; i < n * 10 && ports.size < n; i += 1) ports.add(await freePort());
  if (ports.size < n) throw new Error(`could not find ${n} free ports`);
  return [...ports];
}

export interface ToolRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly output: string;
}

/**
 * Runs a real tool (promtool, amtool, systemd-analyze, docker-compose). A missing tool is a failure with the
 * install hint, not a skip: scripts/install-deps.sh installs all of them.
 */
export function runTool(command: string, args: readonly string[], opts: { cwd?: string; timeoutMs?: number } = {}): ToolRun {
  const r = spawnSync(command, [...args], { cwd: opts.cwd ?? repo(), encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000 });
  if (r.error) throw new Error(`${command}: ${r.error.message} (run scripts/install-deps.sh)`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, output: `${r.stdout}${r.stderr}` };
}

/** Whether a process with this PID exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPERM') return true;
    return false;
  }
}

interface PromResponse<T> {
  status: string;
  data: T;
  error?: string;
}

/** GET a Prometheus API path; throws on transport errors, returns the parsed body (status may be "error"). */
export async function promApi<T>(base: string, path: string): Promise<PromResponse<T>> {
  const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5_000) });
  return (await res.json()) as PromResponse<T>;
}

export interface InstantSample {
  metric: Record<string, string>;
  value: [number, string];
}

export async function instantQuery(base: string, expr: string): Promise<PromResponse<{ resultType: string; result: InstantSample[] }>> {
  return promApi(base, `/api/v1/query?query=${encodeURIComponent(expr)}`);
}

/** The agent's entry point; `npm test` builds it before vitest runs. */
export const AGENT_MAIN = repo('dist', 'cli', 'main.js');
