import type { Command } from 'commander';
import { startAgent } from '../../agent/agent.js';
import { loadConfigWithOverrides } from '../../config/load.js';
import { checkAgentPaths } from '../../config/paths.js';
import { detectKernelUnits } from '../kernel-units.js';
import type { World } from '../world.js';

interface AgentOptions {
  config?: string;
  listen?: string;
  'path.procfs'?: string;
  'path.cgroupfs'?: string;
  'web.config.file'?: string;
}

/** `headroom agent`: the exporter (and the receiver and guard when configured). Runs until SIGINT/SIGTERM. */
export function registerAgent(program: Command, world: World): void {
  program
    .command('agent')
    .description('run the memory exporter (http://127.0.0.1:9632/metrics by default)')
    .option('--config <file>', 'YAML config file (defaults work without one)')
    .option('--listen <host:port>', 'where to serve /metrics (default 127.0.0.1:9632, loopback only)')
    .option('--path.procfs <dir>', 'procfs mount point (default /proc)')
    .option('--path.cgroupfs <dir>', 'cgroup file system mount point (default /sys/fs/cgroup)')
    .option('--web.config.file <file>', 'exporter-toolkit web config (TLS, basic auth), the file node_exporter takes')
    .action(async (opts: AgentOptions) => {
      // Flags override the file and are validated by the same schema, with the same messages.
      const config = loadConfigWithOverrides(opts.config, {
        agent: { listen: opts.listen, procfs: opts['path.procfs'], cgroupfs: opts['path.cgroupfs'] },
        web: { config_file: opts['web.config.file'] },
      });
      checkAgentPaths(config, opts.config ?? 'command line');
      const agent = await startAgent(config, world, detectKernelUnits());
      const signal = await world.stopSignal;
      world.logger.info('stopping', { signal });
      await agent.close();
    });
}
