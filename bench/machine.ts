/**
 * `npm run bench:machine`: the whole-machine crisis on the Debian 12 guest, one fresh boot per arm and scenario
 * (test/machine/crisis.ts): the kernel alone, earlyoom, systemd-oomd (defaults, and with ManagedOOM settings),
 * nohang, and headroom's guard as shipped. Prints the table the README keeps. Not asserted: a benchmark.
 *
 *   npm run bench:machine -- [--arms nothing,earlyoom,...] [--scenarios single,workers,dozen] [--out FILE.jsonl] [--stop-by HH:MM]
 *   npm run bench:machine -- --render FILE.jsonl [FILE.jsonl ...]   (the tables from recorded results, no guest)
 *
 * With --out every arm's result is appended to FILE as one JSON line as soon as it is measured (with the host's
 * load average at the arm's start), so an interrupted run keeps what it measured.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { ARMS, SCENARIOS, renderDozenTable, renderTable, runCrisisArm, type Arm, type ArmResult, type Scenario } from '../test/machine/crisis.js';
import { bootGuest, ensureImage, whyNoGuest } from '../test/machine/guest.js';

function list<T extends string>(name: string, allowed: readonly T[], fallback: readonly T[]): T[] {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return [...fallback];
  const values = (process.argv[i + 1] ?? '').split(',').filter(Boolean);
  for (const v of values) if (!allowed.includes(v as T)) throw new Error(`--${name}: "${v}" is not one of ${allowed.join(', ')}`);
  return values as T[];
}

function printTables(results: readonly ArmResult[], accel: string): void {
  console.log(`\nThe crisis on a Debian 12 guest (2 vCPU ${accel}, 2 GiB RAM + 1 GiB swap), ${new Date().toISOString().slice(0, 10)}:\n`);
  const crisis = results.filter((r) => r.scenario !== 'dozen');
  const dozen = results.filter((r) => r.scenario === 'dozen');
  if (crisis.length > 0) console.log(renderTable(crisis));
  if (dozen.length > 0) console.log(`\nA dozen independent jobs growing together (--scenarios dozen):\n\n${renderDozenTable(dozen)}`);
}

async function main(): Promise<void> {
  const render = process.argv.indexOf('--render');
  if (render >= 0) {
    const files = process.argv.slice(render + 1).filter((a) => !a.startsWith('--'));
    const results = files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ArmResult));
    printTables(results, process.env.HEADROOM_MACHINE_ACCEL ?? 'TCG');
    return;
  }
  // --stop-by HH:MM (UTC, today): no arm is started that could not end by then (an arm is budgeted 5 minutes).
  const stopIndex = process.argv.indexOf('--stop-by');
  const stopBy = stopIndex >= 0 ? Date.parse(`${new Date().toISOString().slice(0, 10)}T${process.argv[stopIndex + 1] ?? ''}:00Z`) : Infinity;
  if (Number.isNaN(stopBy)) throw new Error('--stop-by: expected HH:MM (UTC), e.g. 13:40');
  const outIndex = process.argv.indexOf('--out');
  const out = outIndex >= 0 ? process.argv[outIndex + 1] : undefined;
  const reason = whyNoGuest();
  if (reason !== undefined) {
    console.log(`SKIP bench:machine: ${reason}`);
    return;
  }
  const arms = list<Arm>('arms', ARMS, ARMS);
  const scenarios = list<Scenario>('scenarios', SCENARIOS, SCENARIOS);
  const log = (line: string): void => {
    process.stderr.write(`[bench:machine] ${new Date().toISOString().slice(11, 19)} ${line}\n`);
  };
  const image = await ensureImage(log);
  const results: ArmResult[] = [];
  const skipped: string[] = [];
  for (const scenario of scenarios) {
    for (const arm of arms) {
      if (Date.now() + 5 * 60_000 > stopBy) {
        skipped.push(`${arm}/${scenario}`);
        continue;
      }
      const load = loadavg().map((l) => l.toFixed(1)).join(' ');
      const armStarted = new Date().toISOString();
      log(`${arm}/${scenario}: booting (host load average ${load})`);
      const guest = await bootGuest({ image, memory: '2G', swapBytes: 1024 ** 3, cpus: 2, log });
      try {
        const result = await runCrisisArm(guest, arm, scenario, log);
        results.push(result);
        if (out !== undefined) appendFileSync(out, `${JSON.stringify({ ...result, startedAt: armStarted, hostLoad: load, bootS: guest.bootMs / 1000 })}\n`);
      } catch (error) {
        log(`${arm}/${scenario} failed: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        await guest.stop();
      }
    }
  }
  printTables(results, process.env.HEADROOM_MACHINE_ACCEL ?? 'TCG');
  if (skipped.length > 0) console.log(`\nNot run (they could not end by --stop-by): ${skipped.join(', ')}`);
}

await main();
