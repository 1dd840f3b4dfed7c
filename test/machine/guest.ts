/**
 * The headroom test guest: a Debian 12 VM (systemd as PID 1, cgroup v2 with the memory controller, swap, a real
 * sshd) built from Debian's packages by scripts/machine/build-image.sh, booted with qemu, reached over ssh.
 *
 * - The image is cached outside the checkout (/var/cache/headroom-machine/<key>); each boot gets a fresh qcow2
 *   overlay and a fresh raw swap disk in its own directory under /var/tmp/headroom-machine, removed on stop.
 * - Networking is only qemu's user network with restrict=on and one forward 127.0.0.1:PORT → guest:22.
 * - The checkout is shared read-only over 9p at /opt/headroom (cache=loose), the host's node binary at
 *   /opt/hostnode (the host is Debian 12 too: same glibc), /usr/bin/node in the guest points there; the host's
 *   Prometheus and Alertmanager, when installed, are shared there too (/opt/hostnode/{prometheus,alertmanager}).
 * - KVM only where a probe boot with a timeout showed it boots (the result is cached per qemu, host kernel and
 *   image); otherwise TCG (`-machine pc,accel=tcg -cpu max`).
 * - Every qemu is recorded (PID, start time, owner) in a file next to its boot directory and stopped by that
 *   PID, pass or fail. A record whose owner died (a crashed test runner) is cleaned up by the next start: its qemu
 *   is killed only if that PID is still the same qemu (same start time, its command line names the boot dir).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, copyFileSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO = resolve(import.meta.dirname, '..', '..');
/** The tree shared with the guest at /opt/headroom: this checkout (built), or another build to compare against. */
export const SHARE = process.env.HEADROOM_MACHINE_SHARE ?? REPO;
export const STATE_DIR = process.env.HEADROOM_MACHINE_STATE ?? '/var/tmp/headroom-machine';
export const CACHE_DIR = process.env.HEADROOM_MACHINE_CACHE ?? '/var/cache/headroom-machine';
/** Free space the image (3 GiB sparse, ~1 GiB used) plus one boot (overlay, 1 GiB swap) need, with margin. */
const MIN_FREE_BYTES = 6 * 1024 ** 3;

export interface GuestImage {
  readonly dir: string;
  readonly baseImg: string;
  readonly kernel: string;
  readonly initrd: string;
  readonly key: string;
  /** Seconds the build took, when this call built it. */
  readonly builtSeconds?: number;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

function onPath(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** The real path of a program on the host's PATH, or undefined when it is not installed. */
export function hostBinary(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = r.status === 0 ? r.stdout.trim() : '';
  return path.startsWith('/') ? realpathSync(path) : undefined;
}

function freeBytes(dir: string): number {
  let d = dir;
  while (!existsSync(d)) d = resolve(d, '..');
  const s = statfsSync(d);
  return s.bavail * s.bsize;
}

/** Why no guest can boot here, or undefined when one can (qemu, debootstrap or a built image, disk, root). */
export function whyNoGuest(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `the guest needs x86-64 Linux (this is ${process.platform}/${process.arch})`;
  for (const tool of ['qemu-system-x86_64', 'qemu-img', 'ssh', 'ssh-keygen', 'mkswap']) {
    if (!onPath(tool)) return `${tool} is not installed (scripts/install-deps.sh installs qemu-system-x86, qemu-utils, debootstrap)`;
  }
  if (!onPath('debootstrap') && !existsSync(CACHE_DIR)) return 'debootstrap is not installed and no guest image is cached';
  if ((process.getuid?.() ?? 0) !== 0 && !existsSync(CACHE_DIR)) return 'building the guest image needs root (debootstrap)';
  for (const dir of [CACHE_DIR, STATE_DIR]) {
    const free = freeBytes(dir);
    if (free < MIN_FREE_BYTES) return `only ${(free / 1024 ** 3).toFixed(1)} GiB free for ${dir}; the guest needs ${MIN_FREE_BYTES / 1024 ** 3} GiB`;
  }
  return undefined;
}

/** Builds the image (or finds it in the cache): scripts/machine/build-image.sh, whose last line is the directory. */
export async function ensureImage(log: (line: string) => void): Promise<GuestImage> {
  const started = Date.now();
  const child = spawn(join(REPO, 'scripts/machine/build-image.sh'), [], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    for (const line of d.toString().split('\n').filter(Boolean)) log(`image: ${line}`);
  });
  const code = await new Promise<number | null>((res) => child.on('close', res));
  if (code !== 0) throw new Error(`scripts/machine/build-image.sh failed (exit ${code}): ${err.slice(-2000)}`);
  const dir = out.trim().split('\n').at(-1) ?? '';
  const built = /built in/.test(err);
  return {
    dir,
    baseImg: join(dir, 'base.img'),
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    key: join(dir, 'id_ed25519'),
    builtSeconds: built ? (Date.now() - started) / 1000 : undefined,
  };
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** Field 22 of /proc/PID/stat (start time in clock ticks), or undefined when the process is gone. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    // The process is gone: that is the answer, not an error.
    return undefined;
  }
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    // Gone between the two reads.
    return '';
  }
}

interface QemuRecord {
  readonly pid: number;
  readonly start: string;
  readonly dir: string;
  readonly ownerPid: number;
  readonly ownerStart: string;
}

/**
 * Removes what a crashed earlier run left: for each record whose owner is gone, kill its qemu (only if the PID is
 * still that qemu) and remove its boot directory. Records of live owners (a parallel run) are left alone.
 */
export function cleanupStale(log: (line: string) => void): void {
  if (!existsSync(STATE_DIR)) return;
  for (const name of readdirSync(STATE_DIR)) {
    if (!name.endsWith('.qemu.json')) continue;
    const file = join(STATE_DIR, name);
    const rec = JSON.parse(readFileSync(file, 'utf8')) as QemuRecord;
    if (startTimeOf(rec.ownerPid) === rec.ownerStart) continue;
    if (startTimeOf(rec.pid) === rec.start && cmdlineOf(rec.pid).includes(rec.dir)) {
      log(`stale qemu ${rec.pid} of a crashed run (owner ${rec.ownerPid} gone): stopping it`);
      process.kill(rec.pid, 'SIGKILL');
    }
    rmSync(rec.dir, { recursive: true, force: true });
    rmSync(file, { force: true });
  }
}

export type Accel = 'kvm' | 'tcg';

export interface BootOptions {
  readonly image: GuestImage;
  readonly memory?: string;
  readonly swapBytes?: number;
  readonly cpus?: number;
  /** 'auto': KVM if the cached probe (or a probe boot now) says it boots, else TCG. */
  readonly accel?: Accel | 'auto';
  readonly bootTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

const SSH_BASE = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes'];

export class Guest {
  private exited = false;
  readonly exitPromise: Promise<void>;
  /** Milliseconds from qemu's start to the first ssh answer. */
  bootMs = 0;

  constructor(
    readonly dir: string,
    readonly port: number,
    readonly accel: Accel,
    private readonly qemu: ChildProcess,
    private readonly keyFile: string,
    private readonly recordFile: string,
  ) {
    this.exitPromise = new Promise((res) => qemu.once('exit', () => {
      this.exited = true;
      res();
    }));
  }

  get pid(): number {
    return this.qemu.pid ?? -1;
  }

  get alive(): boolean {
    return !this.exited;
  }

  sshArgs(multiplexed = true): string[] {
    return [
      '-i', this.keyFile, '-p', String(this.port), ...SSH_BASE,
      ...(multiplexed ? ['-o', 'ControlMaster=auto', '-o', `ControlPath=${join(this.dir, 'cm')}`, '-o', 'ControlPersist=600'] : ['-o', 'ControlMaster=no', '-o', 'ControlPath=none']),
      '-o', 'ConnectTimeout=10', 'root@127.0.0.1',
    ];
  }

  /** Runs a shell command in the guest (as root) over the shared ssh connection. */
  async run(command: string, opts: { timeoutMs?: number; input?: string; multiplexed?: boolean } = {}): Promise<RunResult> {
    const started = Date.now();
    const child = spawn('ssh', [...this.sshArgs(opts.multiplexed ?? true), command], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // ssh may exit (no connection yet while booting) before it reads its input: EPIPE is then part of the
    // result (the exit code says it failed), not an unhandled error that ends the whole run.
    child.stdin.on('error', (error: Error) => (stderr += `\n(ssh stdin: ${error.message})`));
    child.stdin.end(opts.input ?? '');
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, opts.timeoutMs ?? 300_000);
    const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    clearTimeout(timer);
    if (timedOut) stderr += `\n(ssh command timed out after ${opts.timeoutMs ?? 300_000} ms)`;
    return { code: timedOut ? null : code, stdout, stderr, ms: Date.now() - started };
  }

  /** Runs a command and throws (with its output) unless it exits 0. */
  async ok(command: string, opts: { timeoutMs?: number; input?: string } = {}): Promise<string> {
    const r = await this.run(command, opts);
    if (r.code !== 0) throw new Error(`guest command failed (exit ${r.code}): ${command}\nstdout: ${r.stdout.slice(-3000)}\nstderr: ${r.stderr.slice(-3000)}`);
    return r.stdout;
  }

  consoleTail(lines = 40): string {
    try {
      return readFileSync(join(this.dir, 'console.log'), 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      // No console output yet.
      return '';
    }
  }

  /** Stops qemu by its PID (SIGTERM, then SIGKILL), removes the overlay, the swap disk and the boot directory. */
  async stop(): Promise<void> {
    spawnSync('ssh', ['-o', `ControlPath=${join(this.dir, 'cm')}`, '-O', 'exit', 'root@127.0.0.1'], { stdio: 'ignore', timeout: 5000 });
    if (!this.exited && this.qemu.pid !== undefined) {
      process.kill(this.qemu.pid, 'SIGTERM');
      await Promise.race([this.exitPromise, sleep(5000)]);
      if (!this.exited) {
        process.kill(this.qemu.pid, 'SIGKILL');
        await this.exitPromise;
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.recordFile, { force: true });
  }
}

function kvmProbeFile(image: GuestImage): string {
  const qemuVersion = spawnSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '';
  const hostKernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const tag = Buffer.from(`${qemuVersion}|${hostKernel}`).toString('base64url').slice(0, 60);
  return join(image.dir, `kvm-probe-${tag}`);
}

/** Boots one guest and waits until ssh answers. */
export async function bootGuest(opts: BootOptions): Promise<Guest> {
  const log = opts.log ?? (() => undefined);
  let accel = opts.accel ?? (process.env.HEADROOM_MACHINE_ACCEL as Accel | undefined) ?? 'auto';
  if (accel === 'auto') {
    const probeFile = kvmProbeFile(opts.image);
    if (!existsSync('/dev/kvm')) accel = 'tcg';
    else if (existsSync(probeFile)) accel = readFileSync(probeFile, 'utf8').startsWith('ok') ? 'kvm' : 'tcg';
    else {
      log('probing KVM: one boot with a 60 s timeout (the result is cached)');
      try {
        const g = await bootOnce({ ...opts, accel: 'kvm', bootTimeoutMs: 60_000 });
        writeFileSync(probeFile, `ok: ssh after ${g.bootMs} ms\n`);
        log(`KVM boots (ssh after ${g.bootMs} ms)`);
        return g;
      } catch (error) {
        writeFileSync(probeFile, `fail: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}\n`);
        log(`KVM does not boot this guest here, using TCG: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
        accel = 'tcg';
      }
    }
  }
  return bootOnce({ ...opts, accel });
}

async function bootOnce(opts: BootOptions & { accel: Accel }): Promise<Guest> {
  const log = opts.log ?? (() => undefined);
  mkdirSync(STATE_DIR, { recursive: true });
  cleanupStale(log);
  const id = `boot-${process.pid}-${randomBytes(4).toString('hex')}`;
  const dir = join(STATE_DIR, id);
  mkdirSync(join(dir, 'hostnode'), { recursive: true });
  // The host's node, and its Prometheus and Alertmanager (Debian 12's packages, like the guest: Go binaries that
  // need only libc) for the bench's Alertmanager arm: shared, not installed in the image, so the guest runs the
  // very binaries the host's alerting tests run and the image (its cache key) does not change.
  const shared: Array<[string, string | undefined]> = [
    ['node', realpathSync(process.execPath)],
    ['prometheus', hostBinary('prometheus')],
    ['alertmanager', hostBinary('prometheus-alertmanager') ?? hostBinary('alertmanager')],
  ];
  // Debian's Alertmanager loads its default notification templates from /usr/share/prometheus/alertmanager.
  const templates = '/usr/share/prometheus/alertmanager';
  if (existsSync(templates)) {
    mkdirSync(join(dir, 'hostnode', 'alertmanager-templates'));
    for (const t of readdirSync(templates).filter((n) => n.endsWith('.tmpl'))) shared.push([join('alertmanager-templates', t), join(templates, t)]);
  }
  for (const [name, source] of shared) {
    if (source === undefined) continue;
    try {
      linkSync(source, join(dir, 'hostnode', name));
    } catch {
      // Another file system: copy instead of a hard link.
      copyFileSync(source, join(dir, 'hostnode', name));
    }
  }
  const overlay = join(dir, 'overlay.qcow2');
  const swap = join(dir, 'swap.raw');
  const img = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', opts.image.baseImg, overlay], { encoding: 'utf8' });
  if (img.status !== 0) throw new Error(`qemu-img create failed: ${img.stderr}`);
  writeFileSync(swap, '');
  spawnSync('truncate', ['-s', String(opts.swapBytes ?? 1024 ** 3), swap]);
  const mk = spawnSync('mkswap', ['-q', swap], { encoding: 'utf8' });
  if (mk.status !== 0) throw new Error(`mkswap failed: ${mk.stderr}`);
  const port = await freePort();
  const machine = opts.accel === 'kvm' ? ['-machine', 'pc,accel=kvm', '-cpu', 'host'] : ['-machine', 'pc,accel=tcg', '-cpu', 'max'];
  const args = [
    ...machine,
    '-smp', String(opts.cpus ?? 2), '-m', opts.memory ?? '2G',
    '-display', 'none', '-monitor', 'none', '-serial', `file:${join(dir, 'console.log')}`,
    '-kernel', opts.image.kernel, '-initrd', opts.image.initrd,
    '-append', 'root=/dev/vda rw console=ttyS0 systemd.show_status=0',
    '-drive', `file=${overlay},if=virtio,format=qcow2`,
    '-drive', `file=${swap},if=virtio,format=raw`,
    '-netdev', `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:22`, '-device', 'virtio-net-pci,netdev=n0',
    '-virtfs', `local,path=${SHARE},mount_tag=headroom,security_model=none,readonly=on,id=p0`,
    '-virtfs', `local,path=${join(dir, 'hostnode')},mount_tag=hostnode,security_model=none,readonly=on,id=p1`,
    '-name', `headroom-machine,process=headroom-qemu`,
  ];
  const started = Date.now();
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let qemuErr = '';
  qemu.stderr?.on('data', (d: Buffer) => (qemuErr += d.toString()));
  if (qemu.pid === undefined) throw new Error('qemu did not start');
  const recordFile = join(STATE_DIR, `${id}.qemu.json`);
  const record: QemuRecord = { pid: qemu.pid, start: startTimeOf(qemu.pid) ?? '', dir, ownerPid: process.pid, ownerStart: startTimeOf(process.pid) ?? '' };
  writeFileSync(recordFile, JSON.stringify(record));
  const guest = new Guest(dir, port, opts.accel, qemu, opts.image.key, recordFile);
  log(`qemu ${qemu.pid} (${opts.accel}) booting, ssh on 127.0.0.1:${port}, dir ${dir}`);
  const deadline = started + (opts.bootTimeoutMs ?? 240_000);
  try {
    for (;;) {
      if (!guest.alive) throw new Error(`qemu exited during boot: ${qemuErr.trim().slice(-500) || guest.consoleTail(5)}`);
      if (Date.now() > deadline) throw new Error(`no ssh within ${(opts.bootTimeoutMs ?? 240_000) / 1000} s; console:\n${guest.consoleTail(15)}`);
      const r = await guest.run('true', { timeoutMs: 15_000 });
      if (r.code === 0) break;
      await sleep(2000);
    }
  } catch (error) {
    await guest.stop();
    throw error;
  }
  const bootMs = Date.now() - started;
  log(`guest up: ssh answered ${bootMs} ms after qemu started`);
  guest.bootMs = bootMs;
  return guest;
}
