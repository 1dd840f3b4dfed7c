import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Spawns a child and resolves once it printed `marker` on stdout (bounded by timeoutMs; killed by its PID on
 * timeout). `env` replaces the environment; `onSpawn` learns the PID at once (to clean up whatever it forks).
 */
export function spawnUntil(
  file: string,
  args: readonly string[],
  marker: string,
  timeoutMs = 20_000,
  o: { readonly env?: NodeJS.ProcessEnv; readonly onSpawn?: (pid: number) => void } = {},
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(o.env !== undefined ? { env: o.env } : {}) });
    if (child.pid !== undefined) o.onSpawn?.(child.pid);
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out waiting for "${marker}" from ${file}; stdout=${out} stderr=${err}`));
    }, timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(marker)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code ?? signal}) before "${marker}"; stdout=${out} stderr=${err}`));
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Kills a child this test started, by PID, and waits for it to be reaped (bounded). */
export async function killAndWait(child: ChildProcess | undefined, timeoutMs = 10_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pid ${child.pid} did not exit`)), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGKILL');
  });
}
