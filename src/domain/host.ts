/**
 * What kind of machine this is, read once at agent start (never per scrape) and shown in incident reports
 * and notifications: "which box was this, a GCP VM or bare metal, how many CPUs".
 */
export interface HostFacts {
  /** The host name used in messages. */
  readonly hostname: string;
  /** Hardware vendor and model, e.g. "Google Compute Engine", or "QEMU Standard PC". */
  readonly vendor?: string;
  readonly model?: string;
  /** Whether the machine is a virtual machine, when the system says so. */
  readonly virtual?: boolean;
  /** "Debian GNU/Linux 12 (bookworm)". */
  readonly os?: string;
  readonly kernel?: string;
  readonly cpus?: number;
  /** "Intel Xeon @ 2.20GHz". */
  readonly cpuModel?: string;
}

/** One line for people: "Google Compute Engine e2-standard-8 (VM), Debian 12, 8 CPUs (Intel Xeon)". */
export function describeHost(h: HostFacts): string {
  const machine = [h.vendor, h.model].filter((s) => s !== undefined && s.length > 0).join(' ');
  const parts = [
    machine.length > 0 ? `${machine}${h.virtual ? ' (VM)' : ''}` : h.virtual ? 'virtual machine' : undefined,
    h.os,
    h.kernel ? `kernel ${h.kernel}` : undefined,
    h.cpus !== undefined ? `${h.cpus} CPUs${h.cpuModel ? ` (${h.cpuModel})` : ''}` : undefined,
  ].filter((s): s is string => s !== undefined && s.length > 0);
  return parts.join(', ');
}
