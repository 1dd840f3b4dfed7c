import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import type { HistoryFs } from '../../jobs/history.js';
import { errorCode, NodeFileReader } from '../../procfs/file-reader.js';
import { ProcFs } from '../../procfs/procfs.js';
import type { World } from '../world.js';

interface Options {
  config?: string;
  stateDir?: string;
  dir?: string;
  log?: string[];
  json?: boolean;
}

/** node:fs for the history reader: a missing directory is an empty history. */
export function nodeHistoryFs(): HistoryFs {
  return {
    list(dir) {
      try {
        return readdirSync(dir);
      } catch (error) {
        if (errorCode(error) === 'ENOENT') return [];
        throw error;
      }
    },
    readText: (path) => readFileSync(path, 'utf8'),
    sizeBytes: (path) => statSync(path).size,
  };
}

/** `headroom jobs`: per job name, what its runs needed and what to run it with next time. */
export function registerJobs(program: Command, world: World): void {
  program
    .command('jobs')
    .description('per job: runs, peak memory p50/p95/max, duration, limit hits and stops, and recommended --memory-max / --timeout')
    .option('--config <file>', 'YAML config file (run.history_dir, remediation.state_dir)')
    .option('--state-dir <dir>', 'state directory (default: remediation.state_dir, /var/lib/headroom)')
    .option('--dir <dir>', 'history directory (default: run.history_dir, else <state dir>/runs)')
    .option('--log <file...>', 'also read these resource logs (written with headroom run --log)')
    .option('--json', 'print JSON for scripts')
    .action(async (opts: Options) => {
      const [{ readJobHistory }, { analyzeJobs, jobsJson, markStopped, renderJobsTable }, { historyDir }, { IncidentStore }] = await Promise.all([
        import('../../jobs/history.js'),
        import('../../jobs/analyze.js'),
        import('../../run/options.js'),
        import('../../incidents/store.js'),
      ]);
      const config = loadConfig(opts.config);
      const stateDir = opts.stateDir ?? config.remediation.state_dir;
      const dir = opts.dir ?? historyDir(config.run, stateDir);
      const incidents = new IncidentStore(join(stateDir, 'incidents')).list();
      const h = readJobHistory(nodeHistoryFs(), { dirs: [dir], files: opts.log ?? [] }, incidents);
      const memTotal = new ProcFs(config.agent.procfs, new NodeFileReader()).meminfo().get('MemTotal') ?? 0;
      const jobs = analyzeJobs(markStopped(h.runs, h.stoppedRunIds), { hostMemTotalBytes: memTotal });
      for (const p of h.problems) world.stderr.write(`headroom jobs: ${p.source}${p.line > 0 ? `:${p.line}` : ''}: ${p.problem}\n`);
      world.stdout.write(opts.json ? `${JSON.stringify(jobsJson(jobs, memTotal), null, 2)}\n` : renderJobsTable(jobs, memTotal));
    });
}
