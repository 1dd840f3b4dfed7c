import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readYaml, repo, runTool } from './support.js';

interface Service {
  network_mode?: string;
  pid?: string;
  volumes?: string[];
  cap_drop?: string[];
  cap_add?: string[];
  security_opt?: string[];
  command?: string[];
}

describe('docker-compose.yml', () => {
  it('docker-compose config validates it', () => {
    const r = runTool('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q']);
    expect(r.status, r.output).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('runs prometheus, alertmanager, grafana (provisioned) and the agent', () => {
    const services = readYaml<{ services: Record<string, Service> }>('docker-compose.yml').services;
    expect(Object.keys(services).sort()).toEqual(['agent', 'alertmanager', 'grafana', 'prometheus']);
    expect(services.grafana?.volumes).toEqual(expect.arrayContaining([expect.stringMatching(/^\.\/grafana\/provisioning:/), expect.stringMatching(/^\.\/grafana\/dashboards:/)]));
    expect(services.prometheus?.volumes).toEqual(expect.arrayContaining([expect.stringMatching(/^\.\/prometheus:/)]));
    expect(services.alertmanager?.volumes).toEqual(expect.arrayContaining([expect.stringMatching(/^\.\/alerting\/alertmanager\.yml:/)]));
  });

  it('gives the agent the host PID namespace, read-only /proc and /sys and the smallest capability set', () => {
    const agent = readYaml<{ services: Record<string, Service> }>('docker-compose.yml').services.agent;
    expect(agent?.pid).toBe('host');
    expect(agent?.volumes).toEqual(expect.arrayContaining(['/proc:/host/proc:ro', '/sys:/host/sys:ro']));
    expect(agent?.cap_drop).toEqual(['ALL']);
    expect(agent?.cap_add?.sort()).toEqual(['KILL', 'SYS_PTRACE']);
    expect(agent?.security_opt).toContain('no-new-privileges:true');
    expect(agent?.command).toEqual(expect.arrayContaining(['--path.procfs', '/host/proc', '--path.cgroupfs', '/host/sys/fs/cgroup']));
  });
});

describe('deploy/systemd/headroom-agent.service', () => {
  const UNIT = 'deploy/systemd/headroom-agent.service';

  it('systemd-analyze verify accepts it', () => {
    const r = runTool('systemd-analyze', ['verify', UNIT]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toBe('');
  });

  it('systemd-analyze verify rejects a broken copy (the check can fail)', () => {
    const broken = readFileSync(repo(UNIT), 'utf8').replace('ExecStart=/usr/bin/node', 'ExecStart=/usr/bin/no-such-node');
    const dir = mkdtempSync(join(tmpdir(), 'headroom-unit-'));
    try {
      const path = join(dir, 'headroom-agent.service');
      writeFileSync(path, broken);
      const r = runTool('systemd-analyze', ['verify', path]);
      expect(r.status).not.toBe(0);
      expect(r.output).toContain('not executable');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is hardened: no new privileges, protected system and home, only the capabilities its actions need', () => {
    const text = readFileSync(repo(UNIT), 'utf8');
    const directives = new Map(
      text
        .split('\n')
        .filter((l) => /^[A-Za-z]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
    );
    expect(directives.get('NoNewPrivileges')).toBe('yes');
    expect(directives.get('ProtectSystem')).toBe('strict');
    expect(directives.get('ProtectHome')).toBe('yes');
    expect(directives.get('CapabilityBoundingSet')?.split(' ').sort()).toEqual(['CAP_KILL', 'CAP_SYS_NICE', 'CAP_SYS_PTRACE', 'CAP_SYS_RESOURCE']);
    expect(directives.get('MemoryMin')).toBe('64M');
    expect(directives.get('OOMScoreAdjust')).toBe('-900');
  });
});
