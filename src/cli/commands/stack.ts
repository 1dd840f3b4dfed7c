import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { DEFAULT_STACK_PORTS, type StackPorts } from '../../stack/ports.js';
import { EXIT, UsageError } from '../errors.js';
import type { World } from '../world.js';

interface StackCliOptions {
  stateDir?: string;
  config?: string;
  agentPort: string;
  prometheusPort: string;
  alertmanagerPort: string;
  install: boolean;
}

function port(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) throw new UsageError(`${flag}: "${value}" is not a port; use a whole number from 1 to 65535`);
  return n;
}

/** $XDG_STATE_HOME/headroom/stack, or ~/.local/state/headroom/stack. */
export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME !== '' ? env.XDG_STATE_HOME : join(env.HOME ?? homedir(), '.local', 'state');
  return join(base, 'headroom', 'stack');
}

/**
 * `headroom stack`: Prometheus, Alertmanager and the agent on loopback without Docker, data under one state
 * directory; installs the Debian packages that are missing; Ctrl-C (or SIGTERM) stops all three.
 */
export function registerStack(program: Command, world: World): void {
  program
    .command('stack')
    .description('run Prometheus, Alertmanager and the agent wired together on 127.0.0.1 (no Docker)')
    .option('--state-dir <dir>', 'configs, data and logs of the three processes (default $XDG_STATE_HOME/headroom/stack)')
    .option('--config <file>', "the agent's YAML config file")
    .option('--agent-port <port>', 'agent port', String(DEFAULT_STACK_PORTS.agent))
    .option('--prometheus-port <port>', 'Prometheus port', String(DEFAULT_STACK_PORTS.prometheus))
    .option('--alertmanager-port <port>', 'Alertmanager port', String(DEFAULT_STACK_PORTS.alertmanager))
    .option('--no-install', 'do not apt-get install prometheus / prometheus-alertmanager when they are missing')
    .action(async (opts: StackCliOptions) => {
      const ports: StackPorts = {
        agent: port(opts.agentPort, '--agent-port'),
        prometheus: port(opts.prometheusPort, '--prometheus-port'),
        alertmanager: port(opts.alertmanagerPort, '--alertmanager-port'),
      };
      if (new Set(Object.values(ports)).size !== 3) throw new UsageError('--agent-port, --prometheus-port and --alertmanager-port must differ');
      const stateDir = resolve(opts.stateDir ?? defaultStateDir(world.env));
      const say = (line: string): void => {
        world.stdout.write(`${line}\n`);
      };
      // Loaded here, not at the top: `headroom agent` (the long-running process) never needs them.
      const [{ ensureBinaries }, { startStack }] = await Promise.all([import('../../stack/install.js'), import('../../stack/stack.js')]);
      const binaries = ensureBinaries({ env: world.env, install: opts.install, isRoot: process.getuid?.() === 0, log: say });
      // dist/cli/commands/stack.js → the package root, which holds prometheus/, alerting/ and dist/.
      const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
      const stack = await startStack({
        repoRoot,
        stateDir,
        ports,
        binaries,
        node: process.execPath,
        agentConfig: opts.config === undefined ? undefined : resolve(opts.config),
        log: say,
      });
      say(
        [
          `headroom stack is up; state in ${stateDir}`,
          `  agent         ${stack.urls.agent}/metrics`,
          `  prometheus    ${stack.urls.prometheus}`,
          `  alertmanager  ${stack.urls.alertmanager}`,
          `  receiver token file ${join(stateDir, 'receiver-token')}`,
          'Ctrl-C stops all three.',
        ].join('\n'),
      );
      const signalled = world.stopSignal.then((signal) => ({ kind: 'signal' as const, signal }));
      let outcome = await Promise.race([signalled, stack.firstExit.then((exit) => ({ kind: 'exit' as const, exit }))]);
      if (outcome.kind === 'exit') {
        // Ctrl-C in a terminal reaches the children too and one may exit before our own handler runs: a signal
        // that arrives within a second still counts as "stopped on purpose".
        outcome = await Promise.race([signalled, sleep(1_000).then(() => outcome)]);
      }
      if (outcome.kind === 'signal') {
        say(`${outcome.signal}: stopping ${stack.processes.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}`);
      } else {
        const { name, status } = outcome.exit;
        world.stderr.write(`headroom: ${name} exited on its own (${status.signal ?? `code ${String(status.code)}`}); stopping the rest\n`);
        process.exitCode = EXIT.failure;
      }
      await stack.stop();
      say('stopped');
    });
}
