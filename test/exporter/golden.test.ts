import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderFamilies } from '../../src/exporter/render.js';
import { fixture, fixtureRunner } from '../support/fixtures.js';

/**
 * The agent run against the committed fixture trees must print exactly test/fixtures/golden/<tree>.prom.
 * After an intended change: `npm run golden:update`, then review the diff like any other code change.
 */
const UPDATE = process.env.HEADROOM_UPDATE_GOLDEN === '1';

function promtoolAvailable(): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// cgroup-v2-guest: captured from the Debian 12 guest of test/machine (systemd 252, kernel 6.1), next to the hand-made tree.
describe.each(['cgroup-v1', 'cgroup-v2', 'cgroup-v2-guest'] as const)('golden /metrics for the %s fixture', (tree) => {
  const goldenPath = fixture('golden', `${tree}.prom`);

  it('matches the committed golden file exactly', async () => {
    const { runner, errors } = fixtureRunner({ cgroup: tree });
    const text = await renderFamilies(runner.scrape().families);
    expect(errors).toEqual([]);
    if (UPDATE) writeFileSync(goldenPath, text);
    expect(existsSync(goldenPath), `${goldenPath} is missing: run npm run golden:update`).toBe(true);
    expect(text).toBe(readFileSync(goldenPath, 'utf8'));
  });

  it('passes promtool check metrics', () => {
    // promtool is part of the test environment (scripts/install-deps.sh installs it); a missing one is a failure.
    expect(promtoolAvailable(), 'promtool not found: run scripts/install-deps.sh').toBe(true);
    const out = execFileSync('promtool', ['check', 'metrics'], { input: readFileSync(goldenPath), encoding: 'utf8' });
    expect(out).toBe('');
  });
});
