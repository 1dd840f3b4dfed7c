import { spawn } from 'node:child_process';
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import type { World } from '../cli/world.js';
import type { HeadroomConfig } from '../config/schema.js';
import type { NotificationSink } from '../notify/events.js';
import type { CgroupFs } from '../procfs/cgroupfs.js';
import type { FileReader } from '../procfs/file-reader.js';
import type { ProcFs } from '../procfs/procfs.js';
import { NodeTreeFs } from '../procfs/tree-fs.js';
import type { ToolResult } from '../evidence/capture.js';
import { findOnPath } from '../run/backends/systemd.js';
import { createRemediation, loggingSink, type Remediation } from './setup.js';

/**
 * The remediation stack on the real machine, for the agent (receiver or guard): real signals, file writes,
 * clocks and sleeps from the World the entry point built; never the agent itself or its parent as a target.
 */
export function createLiveRemediation(
  config: HeadroomConfig,
  world: World,
  io: { readonly proc: ProcFs; readonly cgroups: CgroupFs; readonly files: FileReader },
  opts: { readonly actionsEnabled: boolean; readonly sink: NotificationSink | undefined; readonly registry: Registry },
): Remediation {
  return createRemediation({
    config,
    ...io,
    self: { pid: world.pid, ppid: world.ppid },
    host: config.receiver.host ?? hostname(),
    actionsEnabled: opts.actionsEnabled,
    now: world.now,
    monotonic: world.monotonic,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    kill: (pid, signal) => process.kill(pid, signal),
    writeFile: (path, text) => writeFileSync(path, text),
    sink: opts.sink ?? loggingSink(world.logger),
    logger: world.logger,
    registry: opts.registry,
    treeFs: new NodeTreeFs(),
    evidenceIo: {
      pause: (pid, signal) => process.kill(pid, signal),
      runTool: runWithTimeout,
      pySpy: () => findOnPath('py-spy', world.env.PATH, isExecutable),
    },
  });
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    // Not there or not executable: "not this PATH entry".
    return false;
  }
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
