/**
 * Which Kubernetes pod and container a process belongs to, read from its cgroup path (pure).
 *
 * The kubelet puts every pod under a "kubepods" cgroup, one level per QoS class except Guaranteed:
 *
 *   systemd driver:  /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope
 *                    /kubepods.slice/kubepods-pod<uid>.slice/crio-<id>.scope             (Guaranteed)
 *                    (the pod UID's dashes are underscores in systemd unit names)
 *   cgroupfs driver: /kubepods/burstable/pod<uid>/<id>
 *                    /kubepods/pod<uid>/<id>                                              (Guaranteed)
 *
 * The same paths appear in cgroup v1 (the memory controller's line of /proc/PID/cgroup) and v2 (the "0::"
 * line). A kubelet started with --cgroup-root, or a node inside a container (kind), puts something in front of
 * "kubepods"; an agent in its own cgroup namespace sees "/../.." in front of the pod. So the parser looks for
 * the pod level anywhere in the path and reads the QoS class and the container from the levels around it.
 */

export type KubeQosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';
export type KubeCgroupDriver = 'systemd' | 'cgroupfs';

export interface KubePodRef {
  /** The pod's metadata.uid, with dashes (as the API and /var/log/pods show it). */
  readonly podUid: string;
  readonly qosClass: KubeQosClass;
  readonly driver: KubeCgroupDriver;
  /** The container's runtime ID (64 hex digits for containerd, CRI-O and Docker); absent at the pod level. */
  readonly containerId?: string;
  /** The runtime named by the systemd scope prefix ("containerd", "crio", "docker"); absent for cgroupfs. */
  readonly runtime?: string;
  /** True for CRI-O's conmon monitor process (crio-conmon-<id>.scope), not the container's own process. */
  readonly conmon?: boolean;
}

const UID = '[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}';
/** A kubelet with --cgroup-root=/kubelet (kind nodes) names the slices kubelet-kubepods-…: any prefix is allowed. */
const SYSTEMD_POD = new RegExp(`^(?:[a-z0-9_.-]+-)?kubepods(?:-(burstable|besteffort))?-pod(${UID})\\.slice$`);
const CGROUPFS_POD = new RegExp(`^pod(${UID})$`);
/** cri-containerd-<id>.scope, crio-<id>.scope, crio-conmon-<id>.scope, docker-<id>.scope. */
const SYSTEMD_CONTAINER = /^(cri-containerd|crio-conmon|crio|docker)-([0-9a-f]{12,64})\.scope$/;
const CGROUPFS_CONTAINER = /^[0-9a-f]{12,64}$/;

const QOS: Readonly<Record<string, KubeQosClass>> = { burstable: 'Burstable', besteffort: 'BestEffort' };
const RUNTIME: Readonly<Record<string, string>> = { 'cri-containerd': 'containerd', crio: 'crio', 'crio-conmon': 'crio', docker: 'docker' };

/** The pod (and container) of a cgroup path, or undefined when the path is not inside a Kubernetes pod. */
export function parseKubePodCgroup(path: string): KubePodRef | undefined {
  const parts = path.split('/').filter((p) => p.length > 0);
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i] as string;
    const next = parts[i + 1];
    const sd = SYSTEMD_POD.exec(part);
    if (sd) {
      // The systemd driver names every level after its parents, so the pod slice alone carries the QoS class.
      const qosClass = sd[1] === undefined ? 'Guaranteed' : (QOS[sd[1]] as KubeQosClass);
      const c = next === undefined ? null : SYSTEMD_CONTAINER.exec(next);
      const base = { podUid: dashed(sd[2] as string), qosClass, driver: 'systemd' as const };
      if (!c) return base;
      const prefix = c[1] as string;
      return { ...base, containerId: c[2] as string, runtime: RUNTIME[prefix], ...(prefix === 'crio-conmon' ? { conmon: true } : {}) };
    }
    const fs = CGROUPFS_POD.exec(part);
    if (fs && i > 0) {
      const parent = parts[i - 1] as string;
      const grand = parts[i - 2];
      let qosClass: KubeQosClass;
      if (parent === 'kubepods') qosClass = 'Guaranteed';
      else if ((parent === 'burstable' || parent === 'besteffort') && grand === 'kubepods') qosClass = QOS[parent] as KubeQosClass;
      else continue;
      const base = { podUid: dashed(fs[1] as string), qosClass, driver: 'cgroupfs' as const };
      return next !== undefined && CGROUPFS_CONTAINER.test(next) ? { ...base, containerId: next } : base;
    }
  }
  return undefined;
}

function dashed(uid: string): string {
  return uid.replaceAll('_', '-');
}
