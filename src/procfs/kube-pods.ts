import { join } from 'node:path';
import { errorCode, type FileReader } from './file-reader.js';
import { parseKubePodCgroup, type KubeQosClass } from './parse/kube-cgroup.js';
import { parseContainerLogLinkName, parsePodLogDirName, type PodLogDir } from './parse/kube-logs.js';

/** Pod names by UID and container names by container ID, from one listing of the kubelet's log directories. */
export interface KubePodIndex {
  readonly pods: ReadonlyMap<string, PodLogDir>;
  readonly containers: ReadonlyMap<string, string>;
}

export const EMPTY_KUBE_POD_INDEX: KubePodIndex = { pods: new Map(), containers: new Map() };

/** Builds the index from directory entry names (pure); names that are not the kubelet's are ignored. */
export function buildKubePodIndex(podDirNames: readonly string[], containerLinkNames: readonly string[]): KubePodIndex {
  const pods = new Map<string, PodLogDir>();
  for (const name of podDirNames) {
    const p = parsePodLogDirName(name);
    if (p) pods.set(p.uid, p);
  }
  const containers = new Map<string, string>();
  for (const name of containerLinkNames) {
    const c = parseContainerLogLinkName(name);
    if (c) containers.set(c.containerId, c.container);
  }
  return { pods, containers };
}

/** Lists a directory; a missing one (not a Kubernetes node, or not mounted) is an empty list. */
function listIfPresent(files: FileReader, dir: string): string[] {
  try {
    return files.listDir(dir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return [];
    throw error;
  }
}

/**
 * Reads the index from <podLogsDir> (e.g. /var/log/pods) and its sibling "containers" directory
 * (/var/log/containers), the kubelet's symlinks that carry the container ID.
 */
export function readKubePodIndex(files: FileReader, podLogsDir: string): KubePodIndex {
  const pods = listIfPresent(files, podLogsDir);
  if (pods.length === 0) return EMPTY_KUBE_POD_INDEX;
  return buildKubePodIndex(pods, listIfPresent(files, join(podLogsDir, '..', 'containers')));
}

/** A process's pod as people and metrics see it: names when the kubelet's directories were readable, else IDs. */
export interface KubeProcessInfo {
  /** Absent when the pod's log directory was not found. */
  readonly namespace?: string;
  /** The pod's name, or its UID when the name is unknown. */
  readonly pod: string;
  readonly podUid: string;
  /** The container's name, or the first 12 digits of its ID when the name is unknown; absent at pod level. */
  readonly container?: string;
  readonly containerId?: string;
  readonly qosClass: KubeQosClass;
}

/**
 * The pod of a process with this cgroup path, or undefined when it is not in a pod. The index is asked for
 * only when the path is a pod's, so a host without pods never lists the directories.
 */
export function describeKubeProcess(cgroupPath: string | undefined, index: () => KubePodIndex): KubeProcessInfo | undefined {
  if (cgroupPath === undefined) return undefined;
  const ref = parseKubePodCgroup(cgroupPath);
  if (ref === undefined) return undefined;
  const names = index();
  const pod = names.pods.get(ref.podUid);
  const id = ref.containerId;
  const container = id === undefined ? undefined : (names.containers.get(id) ?? id.slice(0, 12));
  return {
    ...(pod ? { namespace: pod.namespace } : {}),
    pod: pod?.pod ?? ref.podUid,
    podUid: ref.podUid,
    ...(container === undefined ? {} : { container }),
    ...(id === undefined ? {} : { containerId: id }),
    qosClass: ref.qosClass,
  };
}
