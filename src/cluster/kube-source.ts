// Cluster state from the Kubernetes API: informers (list + watch) for MultiNetworkPolicies,
// NetworkAttachmentDefinitions, Pods, Namespaces and Nodes, feeding the same snapshot builder the
// manifests loader uses. Problems with objects are also posted as Kubernetes Events.

import * as k8s from '@kubernetes/client-node';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { buildSnapshot } from './build-snapshot.js';
import { InformerObjects } from './informer-objects.js';
import type { ClusterSnapshot } from './snapshot.js';
import type { Problem } from './problem.js';
import { log } from '../util/log.js';

export interface KubeSourceOptions {
  nodeName: string;
  kubeconfig?: string;
  master?: string;
}

interface Watched {
  kind: string;
  apiVersion: string;
  informer: k8s.Informer<KubernetesObject> & k8s.ObjectCache<KubernetesObject>;
}

function loadConfig(o: KubeSourceOptions): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (o.master) {
    const current = kc.getCurrentCluster();
    if (!current) throw new Error('--master given but the kubeconfig has no current cluster');
    kc.clusters = kc.clusters.map((c) => (c.name === current.name ? { ...c, server: o.master! } : c));
  }
  return kc;
}

/** List items carry no kind/apiVersion; the builder needs them. */
function typed(list: Promise<KubernetesListObject<KubernetesObject>>, apiVersion: string, kind: string) {
  return list.then((l) => ({ ...l, items: l.items.map((i) => ({ ...i, apiVersion, kind })) }));
}

export async function startKubeSource(o: KubeSourceOptions) {
  const kc = loadConfig(o);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const crd = (plural: string, version: string, kind: string): Watched => ({
    kind,
    apiVersion: `k8s.cni.cncf.io/${version}`,
    informer: k8s.makeInformer(kc, `/apis/k8s.cni.cncf.io/${version}/${plural}`, () =>
      typed(
        custom.listClusterCustomObject({ group: 'k8s.cni.cncf.io', version, plural }) as Promise<
          KubernetesListObject<KubernetesObject>
        >,
        `k8s.cni.cncf.io/${version}`,
        kind,
      ),
    ),
  });
  const watched: Watched[] = [
    crd('multi-networkpolicies', 'v1beta1', 'MultiNetworkPolicy'),
    crd('network-attachment-definitions', 'v1', 'NetworkAttachmentDefinition'),
    {
      kind: 'Namespace',
      apiVersion: 'v1',
      informer: k8s.makeInformer(kc, '/api/v1/namespaces', () =>
        typed(core.listNamespace() as never, 'v1', 'Namespace'),
      ),
    },
    {
      kind: 'Node',
      apiVersion: 'v1',
      informer: k8s.makeInformer(kc, '/api/v1/nodes', () => typed(core.listNode() as never, 'v1', 'Node')),
    },
    // Pods cluster-wide: peers on other nodes resolve selectors into addresses.
    {
      kind: 'Pod',
      apiVersion: 'v1',
      informer: k8s.makeInformer(kc, '/api/v1/pods', () =>
        typed(core.listPodForAllNamespaces() as never, 'v1', 'Pod'),
      ),
    },
  ];
  const listeners: (() => void)[] = [];
  const notify = () => listeners.forEach((l) => l());
  for (const w of watched) {
    for (const verb of ['add', 'update', 'delete'] as const) w.informer.on(verb, notify);
    w.informer.on('error', (err: unknown) => {
      log.error(`watch of ${w.kind} failed: ${String(err)}; restarting in 5s`);
      setTimeout(() => void w.informer.start().catch(() => undefined), 5000);
    });
  }
  await Promise.all(watched.map((w) => w.informer.start()));
  log.info('informers synced');
  const reported = new Set<string>();
  const informerObjects = new InformerObjects();
  return {
    snapshot: async (): Promise<ClusterSnapshot> =>
      buildSnapshot(
        informerObjects.read(
          watched.map((w) => ({ apiVersion: w.apiVersion, kind: w.kind, objects: w.informer.list() })),
        ),
      ),
    onChange: (cb: () => void) => listeners.push(cb),
    report: (p: Problem) => {
      const key = `${p.object}|${p.path}|${p.message}`;
      if (reported.has(key)) return;
      reported.add(key);
      void postEvent(core, o.nodeName, p).catch((e: unknown) =>
        log.warn(`could not post event: ${String(e)}`),
      );
    },
    stop: () => {
      for (const w of watched) void w.informer.stop();
    },
  };
}

async function postEvent(core: k8s.CoreV1Api, node: string, p: Problem): Promise<void> {
  const m = /^(\w+) (?:([^/ ]+)\/)?([^ ]+)$/.exec(p.object);
  if (!m) return;
  const [, kind, namespace, name] = m;
  const ns = namespace ?? 'default';
  const now = new Date();
  await core.createNamespacedEvent({
    namespace: ns,
    body: {
      metadata: { generateName: `${name}.`, namespace: ns },
      involvedObject: { kind, namespace: namespace, name },
      reason: p.severity === 'error' ? 'InvalidPolicyInput' : 'PolicyInputWarning',
      message: `${p.path ? `${p.path}: ` : ''}${p.message}; ${p.effect}`.slice(0, 1000),
      type: 'Warning',
      source: { component: 'multi-networkpolicy-tc', host: node },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    },
  });
}
