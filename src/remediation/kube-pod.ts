import type { PodSummary } from '../domain/summaries.js';
import type { Snapshot } from '../policy/types.js';
import { describeKubeProcess, EMPTY_KUBE_POD_INDEX } from '../procfs/kube-pods.js';

/**
 * The pod of a process for messages and incident reports (kube), from its cgroup path and the snapshot's pod
 * names; undefined for a process outside any pod. Kept out of pipeline.ts so the pipeline only calls it.
 */
export function podSummary(cgroup: string | undefined, snap: Pick<Snapshot, 'kubePods'>): PodSummary | undefined {
  const info = describeKubeProcess(cgroup, snap.kubePods ?? (() => EMPTY_KUBE_POD_INDEX));
  if (info === undefined) return undefined;
  return {
    ...(info.namespace === undefined ? {} : { namespace: info.namespace }),
    name: info.pod,
    ...(info.container === undefined ? {} : { container: info.container }),
  };
}
