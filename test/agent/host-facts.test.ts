import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent/agent.js';
import { parseConfig } from '../../src/config/load.js';
import { describeHost, type HostFacts } from '../../src/domain/host.js';
import type { World } from '../../src/domain/world.js';
import { memoryLogger } from '../../src/logging/logger.js';
import type { RefusalNotification } from '../../src/notify/events.js';
import { renderSlackMessage } from '../../src/notify/render/slack.js';
import { DEFAULT_KERNEL_UNITS } from '../../src/procfs/procfs.js';
import { alert, memorySink, payload, post } from '../receiver/harness.js';

/** Issue 10, defect 10: host facts read once at start (injected here), shown in notifications and reports. */
const dir = mkdtempSync(join(tmpdir(), 'headroom-core-hostfacts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FACTS: HostFacts = { hostname: 'ml-box-1', vendor: 'Google', model: 'Google Compute Engine', virtual: true, os: 'Debian GNU/Linux 12', kernel: '6.1.0-28-cloud-amd64', cpus: 8, cpuModel: 'Intel Xeon @ 2.20GHz' };

describe('host facts', () => {
  it('one line for people', () => {
    expect(describeHost(FACTS)).toBe('Google Google Compute Engine (VM), Debian GNU/Linux 12, kernel 6.1.0-28-cloud-amd64, 8 CPUs (Intel Xeon @ 2.20GHz)');
    expect(describeHost({ hostname: 'x' })).toBe('');
  });

  it('the agent reads them once at start (World.hostFacts) and every notification carries them', async () => {
    let reads = 0;
    const out = new PassThrough();
    out.resume();
    const world: World = {
      stdout: out,
      stderr: out,
      env: {},
      logger: memoryLogger(),
      now: () => new Date(),
      monotonic: () => performance.now() / 1000,
      pid: process.pid,
      ppid: process.ppid,
      version: 'test',
      stopSignal: new Promise(() => undefined),
      hostFacts: () => {
        reads += 1;
        return Promise.resolve(FACTS);
      },
    };
    const config = parseConfig({ agent: { listen: '127.0.0.1:0' }, receiver: { enabled: true, host: 'ml-box-1' }, remediation: { state_dir: join(dir, 'state') } }, 'test');
    const sink = memorySink();
    const agent = await startAgent(config, world, DEFAULT_KERNEL_UNITS, { sink });
    try {
      expect(agent.hostFacts).toEqual(FACTS);
      // A PID that does not exist: refused (target_gone), and the refusal says which machine this is.
      expect((await post(agent.url, payload([alert({ pid: '4194000', start_time: '1765000000.00' })]), null)).status).toBe(200);
      await agent.receiver?.idle();
      for (let i = 0; i < 3; i++) await (await fetch(`${agent.url}/metrics`)).text();
      const refusal = sink.items.find((n): n is RefusalNotification => n.kind === 'refusal');
      expect(refusal?.machine).toBe(describeHost(FACTS));
      expect(JSON.stringify(renderSlackMessage(refusal as RefusalNotification))).toContain('Google Compute Engine (VM)');
      expect(reads).toBe(1);
    } finally {
      await agent.close();
    }
  });
});
