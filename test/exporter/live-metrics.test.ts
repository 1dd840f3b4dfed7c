import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent/agent.js';
import type { World } from '../../src/domain/world.js';
import { parseConfig } from '../../src/config/load.js';
import { memoryLogger } from '../../src/logging/logger.js';
import { DEFAULT_KERNEL_UNITS } from '../../src/procfs/procfs.js';
import { removeDir } from '../receiver/harness.js';

/**
 * The golden test checks the collectors' output on fixtures; this checks what a running agent serves, with
 * every feature that adds metrics on (receiver with a token, guard in dry run, prom-client's process and
 * Node.js metrics), against the real promtool.
 */
const dir = mkdtempSync(join(tmpdir(), 'headroom-live-metrics-'));
afterAll(() => removeDir(dir));

function world(): World {
  const out = new PassThrough();
  out.resume();
  return { stdout: out, stderr: out, env: {}, logger: memoryLogger(), now: () => new Date(), monotonic: () => performance.now() / 1000, pid: process.pid, ppid: process.ppid, version: 'test', stopSignal: new Promise(() => undefined) };
}

describe('the live agent /metrics', () => {
  it('passes promtool check metrics with the receiver and the guard (dry run) on', async () => {
    const tokenFile = join(dir, 'receiver-token');
    writeFileSync(tokenFile, 'live-metrics-token\n');
    const config = parseConfig(
      {
        agent: { listen: '127.0.0.1:0' },
        receiver: { enabled: true, host: 'live-metrics', auth: { token_file: tokenFile } },
        // Dry run; the guard's trigger line far below anything this machine reaches.
        remediation: { dry_run: true, state_dir: join(dir, 'state') },
        guard: { enabled: true, available_below: 0.001, harden_self: false },
      },
      'test',
    );
    const agent = await startAgent(config, world(), DEFAULT_KERNEL_UNITS);
    let text: string;
    try {
      // One post so the receiver's labelled counters have children, then two scrapes (the second sees the first).
      const body = JSON.stringify({ version: '4', groupKey: 'g', truncatedAlerts: 0, status: 'firing', receiver: 'r', groupLabels: {}, commonLabels: {}, notification_reason: 'first notification', alerts: [{ status: 'firing', labels: { alertname: 'HeadroomHostMemoryHigh', severity: 'warning' }, annotations: {}, startsAt: '2025-12-12T03:12:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'abc123' }] });
      const res = await fetch(`${agent.url}/alerts/notify`, { method: 'POST', headers: { authorization: 'Bearer live-metrics-token', 'content-type': 'application/json' }, body });
      expect(res.status).toBe(200);
      expect((await fetch(`${agent.url}/metrics`)).status).toBe(200);
      const scrape = await fetch(`${agent.url}/metrics`);
      expect(scrape.status).toBe(200);
      text = await scrape.text();
    } finally {
      await agent.close();
    }
    // Every family is there: collectors, the agent's own process metrics, receiver and remediation (the guard shares the receiver's pipeline and its metrics).
    for (const name of ['headroom_memory_total_bytes', 'headroom_agent_process_resident_memory_bytes', 'headroom_agent_nodejs_eventloop_lag_seconds', 'headroom_receiver_requests_total', 'headroom_receiver_unknown_fields_total', 'headroom_remediation_refusals_total']) {
      expect(text, name).toContain(name);
    }
    let problems: string;
    try {
      problems = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      problems = `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message;
    }
    expect(problems).toBe('');
  });
});
