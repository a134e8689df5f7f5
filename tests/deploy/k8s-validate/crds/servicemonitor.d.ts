// The part of prometheus-operator's ServiceMonitor (monitoring.coreos.com/v1) the chart uses; a CRD, so not in
// kubernetes-types. Closed interfaces: a misspelt or unsupported field fails like in the built-in kinds.
import type { LabelSelector, ObjectMeta } from 'kubernetes-types/meta/v1';

export interface ServiceMonitor {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'ServiceMonitor';
  metadata: ObjectMeta;
  spec: ServiceMonitorSpec;
}

export interface ServiceMonitorSpec {
  selector: LabelSelector;
  endpoints: Endpoint[];
  namespaceSelector?: { any?: boolean; matchNames?: string[] };
  jobLabel?: string;
}

/** Durations are Prometheus durations such as 30s or 1m30s. */
export type Duration = `${number}${'ms' | 's' | 'm' | 'h'}${string}`;

export interface Endpoint {
  port: string;
  path: string;
  interval: Duration;
  scrapeTimeout?: Duration;
  scheme?: 'http' | 'https';
  honorLabels?: boolean;
}
