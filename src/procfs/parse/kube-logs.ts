/**
 * Pod and container names from the kubelet's log directory names (pure). The kubelet lays them out as
 *   /var/log/pods/<namespace>_<pod name>_<pod uid>/<container name>/<restart count>.log
 *   /var/log/containers/<pod name>_<namespace>_<container name>-<container id>.log  (a symlink into the above)
 * Namespaces, pod and container names are DNS names (no "_"), so "_" splits them without ambiguity.
 */

export interface PodLogDir {
  readonly namespace: string;
  readonly pod: string;
  readonly uid: string;
}

export interface ContainerLogLink {
  readonly pod: string;
  readonly namespace: string;
  readonly container: string;
  readonly containerId: string;
}

const DNS = '[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?';
const POD_DIR = new RegExp(`^(${DNS})_(${DNS})_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`);
const CONTAINER_LINK = new RegExp(`^(${DNS})_(${DNS})_(${DNS})-([0-9a-f]{64})\\.log$`);

/** "<namespace>_<pod>_<uid>" → its parts, or undefined for any other name. */
export function parsePodLogDirName(name: string): PodLogDir | undefined {
  const m = POD_DIR.exec(name);
  return m ? { namespace: m[1] as string, pod: m[2] as string, uid: m[3] as string } : undefined;
}

/** "<pod>_<namespace>_<container>-<64 hex id>.log" → its parts, or undefined for any other name. */
export function parseContainerLogLinkName(name: string): ContainerLogLink | undefined {
  const m = CONTAINER_LINK.exec(name);
  return m ? { pod: m[1] as string, namespace: m[2] as string, container: m[3] as string, containerId: m[4] as string } : undefined;
}
