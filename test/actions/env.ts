import type { ActionEnv } from '../../src/actions/action.js';
import { proc } from '../receiver/harness.js';

/** The timings and host reads every action test shares; each test supplies its process/cgroup control. */
export function actionEnv(parts: Pick<ActionEnv, 'processes' | 'cgroups' | 'writeFile' | 'dropCachesPath' | 'protectSshd'> & Partial<ActionEnv>): ActionEnv {
  return {
    dryRun: false,
    meminfo: () => proc.meminfo(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    monotonic: () => performance.now() / 1000,
    killGraceMs: 1000,
    confirmTimeoutMs: 3000,
    pollMs: 50,
    throttleRatio: 0.5,
    ...parts,
  };
}
