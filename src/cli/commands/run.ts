import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { configErrorMap, describeIssues, loadConfigWithOverrides } from '../../config/load.js';
import { NodeFileReader } from '../../procfs/file-reader.js';
import { ProcFs } from '../../procfs/procfs.js';
import type { RUN_FLAG_KEYS } from '../../run/options.js';
import type { LogSink } from '../../run/run.js';
import type { JobExit, ProcessControl, SignalSource } from '../../run/supervisor.js';
import { UsageError } from '../errors.js';
import type { World } from '../world.js';
import { isExecutable } from '../../agent/system.js';

type FlagName = keyof typeof RUN_FLAG_KEYS;
type RunSection = (typeof import('../../config/sections/run.js'))['runSection'];

/** Commander stores --memory-max as opts.memoryMax. */
function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

interface RunOptions extends Partial<Record<string, string | boolean>> {
  config?: string;
  name?: string;
  log?: string;
  limits?: boolean;
}

/** Checks one flag with the run section's own rule, so the message names the flag instead of a config key. */
function checkFlag(flag: FlagName, value: string, keys: typeof RUN_FLAG_KEYS, runSection: RunSection): void {
  const key = keys[flag];
  const result = runSection.shape[key].safeParse(value, { error: configErrorMap });
  if (!result.success) {
    const problem = describeIssues(value, result.error.issues)
      .map((p) => p.replace(/^\(top level\): /, ''))
      .join('; ');
    throw new UsageError(`--${flag}: ${problem}`);
  }
}

/**
 * The real process wiring for the job. The job is spawned detached (its own session and process group): a
 * terminal Ctrl-C then reaches headroom only, and headroom forwards it to every process of the job exactly once
 * (in the same group the job would get it twice: once from the terminal, once forwarded). stdin, stdout and
 * stderr are the terminal's own file descriptors (inherited), so the job's I/O passes through untouched.
 */
function realControl(): ProcessControl {
  return {
    spawn(argv) {
      const [file, ...args] = argv;
      if (file === undefined) throw new Error('empty argv');
      const child = spawn(file, args, { stdio: 'inherit', detached: true });
      const exited = new Promise<JobExit>((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
        child.once('error', (error) => resolve({ code: null, signal: null, error }));
      });
      return { pid: child.pid, exited };
    },
    kill(pid, signal) {
      process.kill(pid, signal);
    },
  };
}

/** SIGINT, SIGTERM and SIGHUP to headroom run, delivered to the supervisor (which forwards them to the job). */
const realSignals: SignalSource = (handler) => {
  const names: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const listener = (signal: NodeJS.Signals): void => handler(signal);
  for (const name of names) process.on(name, listener);
  return () => {
    for (const name of names) process.off(name, listener);
  };
};

function openLog(path: string): LogSink {
  const fd = openSync(path, 'a');
  return {
    write(line) {
      writeSync(fd, line);
    },
    close() {
      closeSync(fd);
    },
  };
}

/** `headroom run [options] -- CMD [ARGS...]`: a job under memory/CPU limits, with timeout and resource log. */
export function registerRun(program: Command, world: World): void {
  // The job's own flags (python3 train.py --lr 3) must not be parsed as ours: options stop at the first
  // operand. passThroughOptions needs positional options on the parent; headroom has no global options
  // besides --help/--version, so nothing else changes.
  program.enablePositionalOptions();
  program
    .command('run')
    .description('run a job under memory/CPU limits, with a timeout, a pre-flight memory check and a resource log')
    .usage('[options] -- CMD [ARGS...]')
    .argument('[command...]', 'the job: program and its arguments (after --)')
    .option('--config <file>', 'YAML config file; its run: section sets the defaults')
    .option('--name <name>', 'job name, part of the cgroup name (default: the script or program name)')
    .option('--memory-max <size|pct>', 'hard memory limit, e.g. 50G or 80% of MemTotal (default 80%)')
    .option('--memory-high <size|pct>', 'soft limit: reclaim and throttle above it')
    .option('--swap-max <size>', 'swap the job may use (default 0: none)')
    .option('--cpu-quota <pct>', 'CPU quota in percent of one CPU, e.g. 80% or 400%')
    .option('--timeout <duration>', 'stop the job after this long (exit 124), e.g. 90s, 3h')
    .option('--kill-grace <duration>', 'time between SIGTERM and SIGKILL (default 10s)')
    .option('--require-available <size>', 'refuse to start unless MemAvailable is at least this (exit 75)')
    .option('--wait-available <duration>', 'with --require-available: wait up to this long for memory')
    .option('--log <file>', 'JSON-lines resource log (one sample per second + summary); the chart goes next to it (.svg)')
    .option('--backend <name>', 'auto, systemd, cgroup-v2 or cgroup-v1 (default auto)')
    .option('--no-limits', 'run even where no limits can be applied (needs no root)')
    .passThroughOptions()
    .action(async (command: string[], opts: RunOptions) => {
      // Loaded here, not at the top: `headroom agent` (the long-running process) never needs them.
      const [{ runSection }, { nodeCgroupIo }, { cgroupLeaf, checkJobName, defaultJobName, defaultLogPath, historyDir, resolveLimits, RUN_FLAG_KEYS, runIdFrom }, { runJob, RunInputError }, { readJobHistory }, { analyzeJobs, historyNote, markStopped }, { IncidentStore }, { nodeHistoryFs }] = await Promise.all([
        import('../../config/sections/run.js'),
        import('../../run/backends/backend.js'),
        import('../../run/options.js'),
        import('../../run/run.js'),
        import('../../jobs/history.js'),
        import('../../jobs/analyze.js'),
        import('../../incidents/store.js'),
        import('./jobs.js'),
      ]);
      if (command.length === 0) throw new UsageError('no command given; usage: headroom run [options] -- CMD [ARGS...]');
      if (opts.name !== undefined) {
        const problem = checkJobName(opts.name);
        if (problem !== undefined) throw new UsageError(problem);
      }
      const overrides: Record<string, string | undefined> = {};
      for (const flag of Object.keys(RUN_FLAG_KEYS) as FlagName[]) {
        const value = opts[camel(flag)];
        if (typeof value !== 'string') continue;
        checkFlag(flag, value, RUN_FLAG_KEYS, runSection);
        overrides[RUN_FLAG_KEYS[flag]] = value;
      }
      const config = loadConfigWithOverrides(opts.config, { run: overrides });
      const procfs = new ProcFs(config.agent.procfs, new NodeFileReader());
      const memTotalBytes = procfs.meminfo().get('MemTotal') ?? 0;
      const limits = resolveLimits(config.run, memTotalBytes, opts.limits !== false);
      if (!limits.ok) throw new UsageError(limits.problems.join('\n'));
      const say = (text: string): void => {
        world.stderr.write(text);
      };
      for (const note of limits.notes) say(`headroom run: note: ${note}\n`);
      const name = opts.name ?? defaultJobName(command);
      const runId = runIdFrom(randomBytes(6));
      const stateDir = config.remediation.state_dir;
      let logPath = defaultLogPath(config.run, stateDir, cgroupLeaf(name, runId), opts.log);
      const history = historyDir(config.run, stateDir);
      if (logPath !== undefined && opts.log === undefined && config.run.log_dir === undefined) {
        // The default history location: create it; where that is not allowed (not root), run without history.
        try {
          mkdirSync(dirname(logPath), { recursive: true, mode: 0o750 });
        } catch (error) {
          say(`headroom run: note: no run history (${error instanceof Error ? error.message : String(error)}); set run.history_dir or pass --log\n`);
          logPath = undefined;
        }
      }
      if (config.run.history) {
        // The job's history so far: its recommendation, printed before it starts.
        try {
          const h = readJobHistory(nodeHistoryFs(), { dirs: [history], files: [] }, new IncidentStore(join(stateDir, 'incidents')).list());
          const mine = h.runs.filter((r) => r.name === name && r.runId !== runId);
          const note = historyNote(analyzeJobs(markStopped(mine, h.stoppedRunIds), { hostMemTotalBytes: memTotalBytes })[0]);
          if (note !== undefined) say(`headroom run: ${note}\n`);
        } catch (error) {
          say(`headroom run: note: job history not read (${error instanceof Error ? error.message : String(error)})\n`);
        }
      }
      try {
        const code = await runJob(
          {
            io: nodeCgroupIo(),
            procfs,
            control: realControl(),
            signals: realSignals,
            monotonicMs: () => world.monotonic() * 1000,
            now: world.now,
            sleep: (ms) => sleep(ms),
            say,
            openLog,
            writeFile: (path, text) => writeFileSync(path, text),
            isExecutable,
            exists: existsSync,
            uid: process.getuid?.() ?? 0,
            pathEnv: world.env.PATH,
            systemctl: (args) => {
              execFileSync('systemctl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
            },
          },
          {
            command,
            name,
            runId,
            run: config.run,
            limits: limits.limits,
            limitsEnabled: opts.limits !== false,
            memTotalBytes,
            cgroupRoot: config.agent.cgroupfs,
            logPath,
            responsiveFullPct: config.thresholds.memory_pressure_full * 100,
          },
        );
        // main() returns process.exitCode when an action sets it: the job's outcome becomes headroom's.
        process.exitCode = code;
      } catch (error) {
        if (error instanceof RunInputError) throw new UsageError(error.message);
        throw error;
      }
    });
}
