/**
 * `npm run bench:machine`: the whole-machine crisis on the Debian 12 guest, one fresh boot per arm and scenario
 * (test/machine/crisis.ts): the kernel alone, earlyoom, systemd-oomd (defaults, and with ManagedOOM settings),
 * nohang, and headroom's guard as shipped. Prints the table the README keeps. Not asserted: a benchmark.
 *
 *   npm run bench:machine -- [--arms nothing,earlyoom,...] [--scenarios single,workers,dozen]
 */
import { ARMS, SCENARIOS, renderDozenTable, renderTable, runCrisisArm, type Arm, type ArmResult, type Scenario } from '../test/machine/crisis.js';
import { bootGuest, ensureImage, whyNoGuest } from '../test/machine/guest.js';

function list<T extends string>(name: string, allowed: readonly T[], fallback: readonly T[]): T[] {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return [...fallback];
  const values = (process.argv[i + 1] ?? '').split(',').filter(Boolean);
  for (const v of values) if (!allowed.includes(v as T)) throw new Error(`--${name}: "${v}" is not one of ${allowed.join(', ')}`);
  return values as T[];
}

async function main(): Promise<void> {
  const reason = whyNoGuest();
  if (reason !== undefined) {
    console.log(`SKIP bench:machine: ${reason}`);
    return;
  }
  const arms = list<Arm>('arms', ARMS, ARMS);
  const scenarios = list<Scenario>('scenarios', SCENARIOS, SCENARIOS);
  const log = (line: string): void => {
    process.stderr.write(`[bench:machine] ${line}\n`);
  };
  const image = await ensureImage(log);
  const results: ArmResult[] = [];
  for (const scenario of scenarios) {
    for (const arm of arms) {
      const guest = await bootGuest({ image, memory: '2G', swapBytes: 1024 ** 3, cpus: 2, log });
      try {
        results.push(await runCrisisArm(guest, arm, scenario, log));
      } catch (error) {
        log(`${arm}/${scenario} failed: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        await guest.stop();
      }
    }
  }
  console.log(`\nThe crisis on a Debian 12 guest (2 vCPU ${process.env.HEADROOM_MACHINE_ACCEL ?? 'TCG'}, 2 GiB RAM + 1 GiB swap), ${new Date().toISOString().slice(0, 10)}:\n`);
  const crisis = results.filter((r) => r.scenario !== 'dozen');
  const dozen = results.filter((r) => r.scenario === 'dozen');
  if (crisis.length > 0) console.log(renderTable(crisis));
  if (dozen.length > 0) console.log(`\nA dozen independent jobs growing together (--scenarios dozen):\n\n${renderDozenTable(dozen)}`);
}

await main();
