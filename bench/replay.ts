/**
 * `npm run bench:replay`: the crisis replay (test/support/replay/scenario.ts) a few times per path, printing
 * the median time from threshold crossing to action for the Prometheus path and the guard path, memory freed,
 * and the agent's CPU while idle and during the incident. Bounded: each replay stops everything it started.
 *
 * First, the guard's latency under scrape load (bench/lib/guard-latency.ts): crossing → SIGTERM p50/p99 with
 * 6 000 extra processes and /metrics scraped every second.
 *
 *   npm run bench:replay -- --guard 5 --prometheus 2 --latency-rounds 20 --processes 6000
 */
import { measureGuardLatency, summarize } from './lib/guard-latency.js';
import { runCrisisReplay, type ReplayPath, type ReplayResult } from '../test/support/replay/scenario.js';

function arg(name: string, fallback: number, max = 20): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`--${name} must be a whole number from 0 to ${max}`);
  return v;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function main(): Promise<void> {
  const latencyRounds = arg('latency-rounds', 20, 200);
  if (latencyRounds > 0) {
    const latency = await measureGuardLatency({ rounds: latencyRounds, processes: arg('processes', 6000, 10_000), scrapeEveryMs: arg('scrape-every-ms', 1000, 60_000), log: (l) => console.log(`[guard latency] ${l}`) });
    console.log(summarize(latency));
  }
  const runs: Record<ReplayPath, number> = { guard: arg('guard', 3), prometheus: arg('prometheus', 1) };
  const results: Record<ReplayPath, ReplayResult[]> = { guard: [], prometheus: [] };
  for (const path of ['guard', 'prometheus'] as const) {
    for (let i = 0; i < runs[path]; i++) {
      const r = await runCrisisReplay({ path, idleSampleMs: 5000 });
      results[path].push(r);
      console.log(
        `${path} #${i + 1}: crossing → action ${r.crossingToActionMs} ms, freed ${((r.freedBytes ?? 0) / 2 ** 20).toFixed(0)} MiB, ` +
          `pings ${r.pings.sent - r.pings.failed}/${r.pings.sent}, agent CPU idle ${(r.agentCpu.idleCores ?? 0).toFixed(3)} / incident ${r.agentCpu.incidentCores.toFixed(3)} cores`,
      );
    }
  }
  console.log('\npath        runs  median crossing→action  median freed  agent CPU idle  agent CPU incident');
  for (const path of ['guard', 'prometheus'] as const) {
    const rs = results[path];
    if (rs.length === 0) continue;
    console.log(
      `${path.padEnd(10)}  ${String(rs.length).padStart(4)}  ${`${median(rs.map((r) => r.crossingToActionMs)).toFixed(0)} ms`.padStart(22)}  ` +
        `${`${(median(rs.map((r) => r.freedBytes ?? 0)) / 2 ** 20).toFixed(0)} MiB`.padStart(12)}  ` +
        `${`${median(rs.map((r) => r.agentCpu.idleCores ?? 0)).toFixed(3)} cores`.padStart(14)}  ${`${median(rs.map((r) => r.agentCpu.incidentCores)).toFixed(3)} cores`.padStart(18)}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
