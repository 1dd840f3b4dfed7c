import type { RemediationAction } from '../domain/remediation.js';
import type { Action } from './action.js';
import { dropCaches } from './drop-caches.js';
import { protect } from './protect.js';
import { stopCgroup } from './stop-cgroup.js';
import { stopProcessTree } from './stop-process-tree.js';
import { throttle } from './throttle.js';

/** Every action, by name. */
export const ACTIONS: Readonly<Record<RemediationAction, Action>> = {
  stop_process_tree: stopProcessTree,
  stop_cgroup: stopCgroup,
  throttle,
  protect,
  drop_caches: dropCaches,
};
