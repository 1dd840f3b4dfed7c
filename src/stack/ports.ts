/** The loopback ports of `headroom stack` (its own small module: the CLI reads the defaults at start-up). */
export interface StackPorts {
  readonly agent: number;
  readonly prometheus: number;
  readonly alertmanager: number;
}

export const DEFAULT_STACK_PORTS: StackPorts = { agent: 9632, prometheus: 9090, alertmanager: 9093 };
