import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * The fleet test's network: a "hub" namespace holding a bridge (and the central Prometheus, two Alertmanagers
 * and the fake Slack), and one namespace per host joined to it by a veth pair. Every name carries the test's
 * PID; every address is in 10.213.0.0/24, which exists only inside these namespaces. Everything created is
 * recorded so teardown removes exactly that, even after a failure half-way.
 */
export const SUBNET_PREFIX = '10.213.0';

export function sh(cmd: string, args: readonly string[], timeoutMs = 20_000): string {
  return execFileSync(cmd, [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
}

export function ip(args: readonly string[]): string {
  return sh('ip', args);
}

export interface Host {
  readonly name: string;
  readonly ns: string;
  readonly address: string;
  /** The hub-side end of the host's veth (set it down to cut the host's link). */
  readonly hubVeth: string;
}

export class Topology {
  readonly hub: string;
  readonly hubAddresses: readonly [string, string];
  readonly hosts: Host[] = [];
  private readonly namespaces: string[] = [];
  private readonly rootVeths: string[] = [];

  constructor(readonly tag: string) {
    this.hub = `hr-fleet-${tag}-hub`;
    this.hubAddresses = [`${SUBNET_PREFIX}.1`, `${SUBNET_PREFIX}.2`];
  }

  private addNs(ns: string): void {
    ip(['netns', 'add', ns]);
    this.namespaces.push(ns);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  createHub(): void {
    this.addNs(this.hub);
    ip(['-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge']);
    for (const a of this.hubAddresses) ip(['-n', this.hub, 'addr', 'add', `${a}/24`, 'dev', 'br0']);
    ip(['-n', this.hub, 'link', 'set', 'br0', 'up']);
  }

  addHost(name: string, index: number): Host {
    const ns = `hr-fleet-${this.tag}-${name}`;
    this.addNs(ns);
    const hubVeth = `hrf${this.tag}${name}`;
    const peer = `${hubVeth}p`;
    if (peer.length > 15) throw new Error(`interface name ${peer} is too long`);
    // Created in the root namespace for an instant, then both ends are moved out.
    ip(['link', 'add', hubVeth, 'type', 'veth', 'peer', 'name', peer]);
    this.rootVeths.push(hubVeth);
    ip(['link', 'set', hubVeth, 'netns', this.hub]);
    ip(['link', 'set', peer, 'netns', ns]);
    ip(['-n', this.hub, 'link', 'set', hubVeth, 'master', 'br0', 'up']);
    ip(['-n', ns, 'link', 'set', peer, 'name', 'eth0']);
    const address = `${SUBNET_PREFIX}.${10 + index}`;
    ip(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    const host = { name, ns, address, hubVeth };
    this.hosts.push(host);
    return host;
  }

  setLink(host: Host, up: boolean): void {
    ip(['-n', this.hub, 'link', 'set', host.hubVeth, up ? 'up' : 'down']);
  }

  /** Deletes the namespaces (their veths go with them) and any veth left in the root namespace. */
  teardown(): string[] {
    const problems: string[] = [];
    for (const v of this.rootVeths) {
      if (existsSync(`/sys/class/net/${v}`)) {
        try {
          ip(['link', 'del', v]);
        } catch (error) {
          problems.push(`veth ${v}: ${String(error)}`);
        }
      }
    }
    for (const ns of [...this.namespaces].reverse()) {
      try {
        ip(['netns', 'del', ns]);
      } catch (error) {
        problems.push(`netns ${ns}: ${String(error)}`);
      }
    }
    return problems;
  }
}

/** A process started in a namespace, with its output kept. */
export interface Started {
  readonly child: ChildProcess;
  readonly name: string;
  output(): string;
}

export function startIn(ns: string, name: string, argv: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Started {
  // nsenter --net, not `ip netns exec`: the latter remounts /sys, hiding /sys/fs/cgroup from the agent.
  const child = spawn('nsenter', [`--net=/run/netns/${ns}`, '--', ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString();
    if (out.length > 400_000) out = out.slice(-200_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, name, output: () => out };
}

/** The PIDs (root namespace numbering) of `pid` and all its descendants. */
export function descendants(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i] as number;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        const kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        if (kids !== '') out.push(...kids.split(' ').map(Number));
      } catch {
        // the task exited meanwhile
      }
    }
  }
  return out;
}

export function alivePid(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills a started process tree by PID (children first found, then all at once with SIGKILL). */
export function killTree(pid: number | undefined): void {
  if (pid === undefined) return;
  for (const p of descendants(pid).reverse()) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
