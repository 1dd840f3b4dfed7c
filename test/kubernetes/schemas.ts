// Offline schema checks for rendered Kubernetes objects. The schemas come from the npm registry:
//   kubernetes-models                        the Kubernetes OpenAPI definitions, compiled by ajv into validators
//   @kubernetes-models/prometheus-operator   the Prometheus Operator CRDs' openAPIV3Schema, compiled the same way
// Each model's validate() runs the ajv validator for its kind and throws a ValidationError listing every
// violation with its JSON path ("data/spec/template/spec/hostPID must be boolean").
import { PodMonitor, PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ConfigMap, Namespace, ResourceQuota, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';

interface Validating {
  validate(): void;
}
type Model = new (data: never) => Validating;

/** apiVersion/kind → the model whose schema checks it. */
const MODELS: Readonly<Record<string, Model>> = {
  'v1/Namespace': Namespace,
  'v1/ResourceQuota': ResourceQuota,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'apps/v1/DaemonSet': DaemonSet,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

export const SCHEMA_KINDS = Object.keys(MODELS);

export interface KubeObject {
  readonly apiVersion?: unknown;
  readonly kind?: unknown;
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [key: string]: unknown;
}

/** The schema violations of one object ([] when valid); an object of a kind without a schema is a violation too. */
export function schemaViolations(obj: KubeObject): string[] {
  const key = `${String(obj.apiVersion)}/${String(obj.kind)}`;
  const model = MODELS[key];
  if (model === undefined) return [`no schema for ${key}: add its model to test/kubernetes/schemas.ts`];
  try {
    new model(structuredClone(obj) as never).validate();
    return [];
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
}
