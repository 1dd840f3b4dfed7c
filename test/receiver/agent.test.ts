import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent/agent.js';
import type { World } from '../../src/domain/world.js';
import { parseConfig } from '../../src/config/load.js';
import { memoryLogger } from '../../src/logging/logger.js';
import { DEFAULT_KERNEL_UNITS } from '../../src/procfs/procfs.js';
import { alert, cleanup, identity, memorySink, payload, post, removeDir, spawnTree, type OwnedTree } from './harness.js';

const trees: OwnedTree[] = [];
const dir = mkdtempSync(join(tmpdir(), 'headroom-agent-receiver-'));
afterAll(() => {
  cleanup(trees);
  removeDir(dir);
});

function world(logger = memoryLogger()): World & { logger: ReturnType<typeof memoryLogger> } {
  const out = new PassThrough();
  out.resume();
  return { stdout: out, stderr: out, env: {}, logger, now: () => new Date(), monotonic: () => performance.now() / 1000, pid: process.pid, ppid: process.ppid, version: 'test', stopSignal: new Promise(() => undefined) };
}

describe('headroom agent with the receiver', () => {
  it('serves no receiver routes without receiver config (exporter unchanged)', async () => {
    const config = parseConfig({}, 'test');
    const agent = await startAgent({ ...config, agent: { ...config.agent, listen: '127.0.0.1:0' } }, world(), DEFAULT_KERNEL_UNITS);
    try {
      expect((await fetch(`${agent.url}/alerts/remediate`, { method: 'POST', body: '{}' })).status).toBe(404);
      expect((await fetch(`${agent.url}/healthz`)).status).toBe(200);
    } finally {
      await agent.close();
    }
  });

  it('without a credential: says so at start, notifies only, exports receiver metrics on /metrics', async () => {
    const config = parseConfig({ receiver: { enabled: true, host: 'agent-test' }, remediation: { state_dir: join(dir, 'state'), min_victim_size: '1K', recovered: { process_tree_share_below: 0.000001 } } }, 'test');
    const w = world();
    const sink = memorySink();
    const agent = await startAgent({ ...config, agent: { ...config.agent, listen: '127.0.0.1:0' } }, w, DEFAULT_KERNEL_UNITS, { sink });
    try {
      expect(w.logger.lines.some((l) => l.level === 'warn' && String(l.msg).includes('remediation actions are DISABLED'))).toBe(true);
      const t = await spawnTree('headroom-agent-test');
      trees.push(t);
      const res = await post(agent.url, payload([alert({ pid: String(t.pid), start_time: t.startTime })]), null);
      expect(res.status).toBe(200);
      for (let i = 0; i < 1500 && !sink.items.some((n) => n.kind === 'refusal'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(sink.items.find((n) => n.kind === 'refusal')).toMatchObject({ reasonCode: 'actions_disabled' });
      expect(t.pids.every((p) => identity(p).alive)).toBe(true);
      const metrics = await (await fetch(`${agent.url}/metrics`)).text();
      expect(metrics).toMatch(/headroom_remediation_refusals_total\{reason="actions_disabled",source="receiver"\} 1/);
      expect(metrics).toContain('headroom_remediation_queue_depth');
    } finally {
      await agent.close();
    }
  });
});
