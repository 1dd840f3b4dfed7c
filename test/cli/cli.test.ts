import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startAgentProcess } from '../support/cli.js';
import { killAndWait } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'headroom-cli-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('headroom CLI', () => {
  it('prints its version and help', () => {
    const version = runCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/agent \[options\]/);
    expect(runCli(['agent', '--help']).stdout).toMatch(/--path\.procfs <dir>/);
  });

  it('config check: 0 for a valid file, 2 with every problem and no stack trace for a bad one', () => {
    expect(runCli(['config', 'check', '--quiet', file('ok.yml', 'agent:\n  listen: 127.0.0.1:9700\n')])).toMatchObject({ code: 0, stdout: '' });
    const bad = runCli(['config', 'check', file('bad.yml', 'collectors:\n  top_processes:\n    floor: 50GG\n    max_series: -3\n')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/collectors\.top_processes\.floor: got "50GG"/);
    expect(bad.stderr).toMatch(/collectors\.top_processes\.max_series: got -3; must be a whole number ≥ 1/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it('agent refuses to start on a bad config or flag, exit 2', () => {
    const r = runCli(['agent', '--config', file('unknown.yml', 'agent:\n  port: 1\n')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/agent\.port: unknown key "port"; allowed keys here: listen/);
    const flag = runCli(['agent', '--listen', 'everywhere']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/agent\.listen: got "everywhere"; must be HOST:PORT/);
    expect(runCli(['agent', '--bogus']).code).toBe(2);
    const paths = runCli(['agent', '--path.procfs', '/nonexistent/proc', '--path.cgroupfs', '/etc/hostname']);
    expect(paths.code).toBe(2);
    expect(paths.stderr).toMatch(/agent\.procfs: got "\/nonexistent\/proc"; must be a mounted procfs \(cannot read \/nonexistent\/proc\/meminfo: ENOENT\)/);
    expect(paths.stderr).toMatch(/agent\.cgroupfs: got "\/etc\/hostname"; must be the cgroup file system mount point/);
    expect(paths.stderr).not.toMatch(/\n\s+at /);
    const token = runCli(['agent', '--listen', '127.0.0.1:0', '--config', file('recv.yml', 'receiver:\n  enabled: true\n  auth:\n    token_file: /nonexistent/token\n')]);
    expect(token.code).toBe(2);
    expect(token.stderr).toMatch(/receiver\.auth\.token_file: cannot read \/nonexistent\/token \(ENOENT\)/);
  });

  it('agent says clearly when its port is taken, exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = runCli(['agent', '--listen', `127.0.0.1:${port}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/EADDRINUSE/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });

  it('agent serves /metrics, /healthz and a landing page, and stops on SIGTERM', async () => {
    // Every process above 1 KiB is exported, so the agent finds itself however many larger processes this
    // (shared, busy) machine runs; with the default top 10 it can rank below other people's jobs.
    const everyProcess = file('every-process.yml', 'collectors:\n  top_processes:\n    floor: 1K\n    max_series: 100000\n');
    const { child, url } = await startAgentProcess(['--listen', '127.0.0.1:0', '--config', everyProcess]);
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const metrics = await fetch(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await metrics.text();
      expect(text).toMatch(/^headroom_memory_total_bytes \d+$/m);
      expect(text).toMatch(/^headroom_scrape_collector_success\{collector="top_processes"\} 1$/m);
      expect(text).toMatch(new RegExp(`^headroom_process_resident_bytes\\{pid="${child.pid}",`, 'm'));
      expect(text).toMatch(/^headroom_agent_process_resident_memory_bytes \d+/m);
      expect(await (await fetch(`${url}/healthz`)).text()).toBe('ok\n');
      expect(await (await fetch(`${url}/`)).text()).toMatch(/<a href="metrics">/);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      await killAndWait(child);
    }
  });
});
