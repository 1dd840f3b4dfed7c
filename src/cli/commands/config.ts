import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import type { World } from '../world.js';

/** `headroom config check FILE`: validates a config file; exit 0 when valid, 2 with every problem when not. */
export function registerConfig(program: Command, world: World): void {
  const config = program.command('config').description('work with the config file');
  config
    .command('check')
    .description('validate a config file and print the effective configuration')
    .argument('<file>', 'YAML config file')
    .option('--quiet', 'print nothing when valid')
    .action((file: string, opts: { quiet?: boolean }) => {
      const parsed = loadConfig(file, 'as FILE (config check FILE)');
      if (!opts.quiet) world.stdout.write(`${file}: valid\n${JSON.stringify(parsed, null, 2)}\n`);
    });
}
