import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { stopChild } from './children.js';

/** A free TCP port on 127.0.0.1 (bound to port 0, read, closed; the exporter binds it right after). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  return port;
}

export interface ScrapeSample {
  readonly seconds: number;
  readonly body: string;
}

/** GET url over a keep-alive agent (like Prometheus); the time until the whole body is received. */
export function scrapeOnce(url: string, agent: Agent, timeoutMs: number): Promise<ScrapeSample> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = request(url, { agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const seconds = (performance.now() - start) / 1000;
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`GET ${url}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`));
        else resolve({ seconds, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Series in a text exposition: non-empty lines that are not comments. */
export function seriesCount(body: string): number {
  let n = 0;
  for (const line of body.split('\n')) if (line !== '' && !line.startsWith('#')) n++;
  return n;
}

/** How to start one exporter on a given loopback port. */
export interface TargetSpec {
  readonly name: string;
  readonly command: string;
  readonly args: (port: number) => string[];
  /** The exact command line, for the report. */
  readonly describe: string;
}

/** A running exporter we started; stop() ends it by PID. */
export class RunningTarget {
  private output = '';
  readonly url: string;
  readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  private constructor(
    readonly spec: TargetSpec,
    readonly child: ChildProcess,
    port: number,
  ) {
    this.url = `http://127.0.0.1:${port}/metrics`;
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.spec.name} has no PID`);
    return this.child.pid;
  }

  /** The last few kB the exporter wrote, for error messages. */
  get recentOutput(): string {
    return this.output;
  }

  /** Starts the exporter and waits until /metrics answers 200 (the first answer may take seconds). */
  static async start(spec: TargetSpec, readyTimeoutMs: number, onSpawn: (t: RunningTarget) => void): Promise<RunningTarget> {
    const port = await freeLoopbackPort();
    const child = spawn(spec.command, spec.args(port), { stdio: ['ignore', 'pipe', 'pipe'] });
    const target = new RunningTarget(spec, child, port);
    onSpawn(target);
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    try {
      await spawned;
      const deadline = performance.now() + readyTimeoutMs;
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`${spec.name} exited (code ${child.exitCode}, signal ${child.signalCode}): ${target.output}`);
        }
        try {
          await scrapeOnce(target.url, target.agent, Math.max(1000, deadline - performance.now()));
          return target;
        } catch (error) {
          if (performance.now() > deadline) {
            throw new Error(`${spec.name} not ready after ${readyTimeoutMs} ms: ${error instanceof Error ? error.message : String(error)}; output: ${target.output}`, { cause: error });
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } catch (error) {
      await target.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    await stopChild(this.child, 5000);
  }
}
