// deploy/ as an operator gets it: `kubectl kustomize deploy/` (kubectl from hack/ensure-kubectl.sh,
// which `make test-unit` runs), parsed into objects. Rendered once per test run.

import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

let rendered: Promise<K8sObject[]> | undefined;

export function renderDeploy(): Promise<K8sObject[]> {
  rendered ??= execa(process.env.KUBECTL ?? 'kubectl', ['kustomize', 'deploy/']).then((r) =>
    parseAllDocuments(r.stdout).map((d) => {
      if (d.errors.length > 0) throw new Error(`kustomize output: ${d.errors.join('; ')}`);
      return d.toJS() as K8sObject;
    }),
  );
  return rendered;
}

export async function one(kind: string): Promise<K8sObject> {
  const all = (await renderDeploy()).filter((o) => o.kind === kind);
  if (all.length !== 1) throw new Error(`expected one ${kind} in deploy/, found ${all.length}`);
  return all[0]!;
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
}

/** The agent container of the DaemonSet, typed as far as the tests read it. */
export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsUser?: number;
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
}

export interface PodSpec {
  nodeSelector?: Record<string, string>;
  terminationGracePeriodSeconds?: number;
  hostNetwork?: boolean;
  serviceAccountName?: string;
  containers: Container[];
  volumes?: { name: string; hostPath?: { path: string; type?: string }; emptyDir?: unknown }[];
}

export async function daemonSetPod(): Promise<PodSpec> {
  const ds = (await one('DaemonSet')) as K8sObject & { spec: { template: { spec: PodSpec } } };
  return ds.spec.template.spec;
}
