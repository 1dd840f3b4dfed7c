import { z } from 'zod';
import { section } from '../schema-helpers.js';

/**
 * Kubernetes nodes: a process in a pod's cgroup is shown with its pod's namespace, name and container
 * (metrics labels of the exported top processes, Slack messages, incident reports). The pod UID and
 * container ID come from the cgroup path; the names from the kubelet's pod log directories
 * (<pod_logs_dir>/<namespace>_<pod>_<uid>/ and ../containers/<pod>_<namespace>_<container>-<id>.log), read when present. Without them the UID is kept.
 */
export const kubernetesSection = section({
  /**
   * The kubelet's pod log root (a read-only host mount in the DaemonSet: /host/var/log/pods). Its sibling
   * "containers" directory (/var/log/containers) maps container IDs to names. Listed once per scrape and
   * per remediation snapshot, only when a reported process is in a pod.
   */
  pod_logs_dir: z.string().min(1).default('/var/log/pods'),
});

export type KubernetesConfig = z.infer<typeof kubernetesSection>;
