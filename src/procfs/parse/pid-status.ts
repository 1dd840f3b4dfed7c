/**
 * The fields of /proc/PID/status headroom uses, in bytes where the kernel prints kB. A field missing from the
 * file (kernel threads have no Vm* lines; RssAnon appeared in 4.5) is absent here, not 0.
 */
export interface PidStatus {
  readonly name?: string;
  readonly uid?: number;
  readonly vmRssBytes?: number;
  readonly rssAnonBytes?: number;
  readonly rssFileBytes?: number;
  readonly rssShmemBytes?: number;
  readonly vmSwapBytes?: number;
  readonly vmSizeBytes?: number;
  readonly vmHwmBytes?: number;
}

const KB_FIELDS: Readonly<Record<string, keyof PidStatus>> = {
  VmRSS: 'vmRssBytes',
  RssAnon: 'rssAnonBytes',
  RssFile: 'rssFileBytes',
  RssShmem: 'rssShmemBytes',
  VmSwap: 'vmSwapBytes',
  VmSize: 'vmSizeBytes',
  VmHWM: 'vmHwmBytes',
};

export function parsePidStatus(text: string): PidStatus {
  const out: Record<string, number | string> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (key === 'Name') out.name = value;
    else if (key === 'Uid') {
      const real = Number(value.split(/\s+/)[0]);
      if (Number.isFinite(real)) out.uid = real;
    } else {
      const field = KB_FIELDS[key];
      if (field !== undefined) {
        const kb = Number(value.split(/\s+/)[0]);
        if (Number.isFinite(kb)) out[field] = kb * 1024;
      }
    }
  }
  return out;
}
