import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent/agent.js';
import type { World } from '../../src/domain/world.js';
import { parseConfig } from '../../src/config/load.js';
import { memoryLogger } from '../../src/logging/logger.js';
import { DEFAULT_KERNEL_UNITS } from '../../src/procfs/procfs.js';
import { FakeSlack } from '../support/fake-slack.js';
import { action } from './fixtures.js';

describe('agent wiring of notifications', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const world = (logger: ReturnType<typeof memoryLogger>, env: NodeJS.ProcessEnv): World => ({
    stdout: process.stdout,
    stderr: process.stderr,
    env,
    logger,
    now: () => new Date(),
    monotonic: () => performance.now() / 1000,
    pid: process.pid,
    ppid: process.ppid,
    version: 'test',
    stopSignal: new Promise<NodeJS.Signals>(() => undefined),
  });

  it('with a notify section: the sink delivers to Slack and /metrics has the notification metrics', async () => {
    const slack = await FakeSlack.start();
    cleanups.push(() => slack.close());
    const dir = mkdtempSync(join(tmpdir(), 'headroom-agent-notify-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const logger = memoryLogger();
    const config = parseConfig(
      { agent: { listen: '127.0.0.1:0' }, notify: { state_dir: dir, slack: { webhook_url_env: 'HEADROOM_TEST_HOOK', request_timeout: '2s' } } },
      'test',
    );
    const agent: RunningAgent = await startAgent(config, world(logger, { HEADROOM_TEST_HOOK: slack.url }), DEFAULT_KERNEL_UNITS);
    cleanups.push(() => agent.close());
    expect(agent.notifications?.notifiers).toEqual(['log', 'slack']);
    agent.notifications?.sink.publish(action());
    const [body] = await slack.waitForDelivered(1, 30_000);
    expect(JSON.stringify(body)).toContain('Stopped python3 (pid 449948)');
    expect(await agent.notifications?.drain(2000)).toBe(true);
    const metrics = await (await fetch(`${agent.url}/metrics`)).text();
    expect(metrics).toContain('headroom_notifications_sent_total{notifier="slack"} 1');
    expect(metrics).toContain('headroom_notification_queue_depth 0');
    expect(JSON.stringify(logger.lines)).not.toContain(slack.secret);
  });

  it('without a notify section: no notification service', async () => {
    const config = parseConfig({ agent: { listen: '127.0.0.1:0' } }, 'test');
    const agent = await startAgent(config, world(memoryLogger(), {}), DEFAULT_KERNEL_UNITS);
    cleanups.push(() => agent.close());
    expect(agent.notifications).toBeUndefined();
    expect(await (await fetch(`${agent.url}/metrics`)).text()).not.toContain('headroom_notification');
  });
});
