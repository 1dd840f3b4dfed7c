#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/load.js';
import { errorMessage, createLogger } from '../logging/logger.js';
import { registerAgent } from './commands/agent.js';
import { registerConfig } from './commands/config.js';
import { registerIncidents } from './commands/incidents.js';
import { registerJobs } from './commands/jobs.js';
import { registerRun } from './commands/run.js';
import { registerStack } from './commands/stack.js';
import { registerStatus } from './commands/status.js';
import { EXIT, UsageError } from './errors.js';
import type { World } from './world.js';

/**
 * The entry point: the only place that wires the real process, clocks, streams and signals. Every command
 * gets them through `World`.
 */
const COMMANDS: ReadonlyArray<(program: Command, world: World) => void> = [registerAgent, registerConfig, registerRun, registerStack, registerIncidents, registerJobs, registerStatus];

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function realWorld(): World {
  const now = (): Date => new Date();
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    logger: createLogger(process.stderr, now),
    now,
    monotonic: () => performance.now() / 1000,
    pid: process.pid,
    ppid: process.ppid,
    version: packageVersion(),
    stopSignal: new Promise((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    }),
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const world = realWorld();
  const program = new Command('headroom')
    .description('memory safety for Linux machines that run heavy Python/ML jobs')
    .version(world.version, '-V, --version')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  for (const register of COMMANDS) register(program, world);
  program.commands.forEach((c) => c.exitOverride());
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit through here with code 0; usage mistakes with 1, which we report as 2.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof ConfigError || error instanceof UsageError) {
      world.stderr.write(`headroom: ${error.message}\n`);
      return EXIT.usage;
    }
    const detail = errorMessage(error);
    world.stderr.write(`headroom: ${detail}\n`);
    return EXIT.failure;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
    // Let stdout drain, then stop even if a library left a handle open.
    setImmediate(() => process.exit(code));
  },
  (error: unknown) => {
    process.stderr.write(`headroom: ${errorMessage(error)}\n`);
    process.exit(EXIT.failure);
  },
);
