// Cluster state from the Kubernetes API: one informer (list + watch) per kind the model reads
// (MultiNetworkPolicies, NetworkAttachmentDefinitions, Pods, Namespaces, Nodes), feeding the same
// snapshot builder the manifests loader uses. No snapshot exists until every kind has completed a
// LIST; after that, failures keep the last good caches (see kube/informer.ts). Problems with
// objects are also posted as Kubernetes Events.

import { SnapshotBuilder } from './build-snapshot.js';
import { InformerObjects } from './informer-objects.js';
import type { ClusterSnapshot } from './snapshot.js';
import type { Problem } from './problem.js';
import { loadClientConfig, type ClientConfig, type ClientConfigOptions } from './kube/client-config.js';
import { DEFAULT_TIMING, Informer, type InformerTiming, type ResourceKind } from './kube/informer.js';
import { EventRecorder, type ObjectReference } from './kube/event-recorder.js';
import { SourceNotReady } from './state-source.js';
import { cpuMs } from './kube/cpu-time.js';
import { log } from '../util/log.js';

export interface KubeSourceOptions extends ClientConfigOptions {
  nodeName: string;
  /** Tests shorten the informers' timers. */
  timing?: Partial<InformerTiming>;
}

/** Counters the source reports to the agent's metrics. */
export interface KubeSourceHooks {
  relist?(kind: string): void;
  watchRestart?(kind: string, why: string): void;
}

export const RESOURCES: readonly ResourceKind[] = [
  {
    kind: 'MultiNetworkPolicy',
    apiVersion: 'k8s.cni.cncf.io/v1beta1',
    path: '/apis/k8s.cni.cncf.io/v1beta1/multi-networkpolicies',
  },
  {
    kind: 'NetworkAttachmentDefinition',
    apiVersion: 'k8s.cni.cncf.io/v1',
    path: '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions',
  },
  { kind: 'Namespace', apiVersion: 'v1', path: '/api/v1/namespaces' },
  { kind: 'Node', apiVersion: 'v1', path: '/api/v1/nodes' },
  // Pods cluster-wide: peers on other nodes resolve selectors into addresses.
  { kind: 'Pod', apiVersion: 'v1', path: '/api/v1/pods' },
];

/** Object changes kept for the next reconcile's log line (the rest are counted). */
const CHANGES_KEPT = 20;

export interface KubeSource {
  snapshot(): Promise<ClusterSnapshot>;
  onChange(cb: () => void): void;
  report(p: Problem): void;
  stop(): void;
  /** Every kind has completed a LIST. */
  ready(): boolean;
  /** What changed since the last call, for the reconcile log. */
  takeChanges(): string[];
  /** Cached objects per kind, for the metrics. */
  cacheSizes(): Map<string, number>;
}

export function startKubeSource(o: KubeSourceOptions, hooks: KubeSourceHooks = {}): KubeSource {
  const kc: ClientConfig = loadClientConfig(o);
  const timing = { ...DEFAULT_TIMING, ...o.timing };
  const listeners: (() => void)[] = [];
  let changes: string[] = [];
  let changeCount = 0;
  let stopped = false;
  const builder = new SnapshotBuilder();
  const events = {
    change(what: string) {
      if (stopped) return;
      log.info(what, 4);
      if (changes.length < CHANGES_KEPT) changes.push(what);
      changeCount++;
      for (const l of listeners) l();
    },
    relist: (kind: string) => hooks.relist?.(kind),
    // Each page is validated and read while the next one is on its way: the snapshot builder
    // remembers those readings per object, so the first snapshot (one synchronous step that a
    // SIGTERM cannot interrupt) only assembles them.
    page: (records: Record<string, unknown>[]) => {
      if (!stopped && records.length > 0) builder.readAhead(records.map((obj) => ({ obj })));
    },
    watchRestart: (kind: string, why: string) => hooks.watchRestart?.(kind, why),
  };
  const informers = RESOURCES.map((r) => new Informer(kc, r, events, timing));
  const byKind = new Map(informers.map((i) => [i.kind, i]));
  const informerObjects = new InformerObjects();
  const resolve = (object: string): ObjectReference | undefined => {
    const m = /^(\w+) (?:([^/ ]+)\/)?([^ /]+)$/.exec(object);
    if (!m) return undefined;
    const [, kind, namespace, name] = m;
    const informer = byKind.get(kind!);
    if (!informer) return undefined;
    const found = informer.get(namespace ?? '', name!);
    const uid = (found?.metadata as { uid?: unknown } | undefined)?.uid;
    return {
      apiVersion: informer.resource.apiVersion,
      kind: kind!,
      name: name!,
      ...(namespace ? { namespace } : {}),
      ...(typeof uid === 'string' ? { uid } : {}),
    };
  };
  const recorder = new EventRecorder(kc, o.nodeName, resolve);
  let announced = false;
  const ready = () => {
    const all = informers.every((i) => i.synced);
    if (all && !announced) {
      announced = true;
      log.info('informers synced: every kind has completed a LIST', 0, { cpuMs: cpuMs() });
    }
    return all;
  };
  for (const i of informers) i.start();
  return {
    async snapshot() {
      if (!ready()) {
        const waiting = informers
          .filter((i) => !i.synced)
          .map((i) => (i.lastListError ? `${i.kind} (${i.lastListError})` : i.kind));
        throw new SourceNotReady(`waiting for the first LIST of ${waiting.join(', ')}`);
      }
      return builder.build(
        informerObjects.read(
          informers.map((i) => ({ apiVersion: i.resource.apiVersion, kind: i.kind, objects: i.objects() })),
        ),
      );
    },
    onChange: (cb) => listeners.push(cb),
    report: (p) => recorder.report(p),
    stop() {
      stopped = true;
      recorder.stop();
      for (const i of informers) i.stop();
    },
    ready,
    takeChanges() {
      const out =
        changeCount > changes.length ? [...changes, `and ${changeCount - changes.length} more`] : changes;
      changes = [];
      changeCount = 0;
      return out;
    },
    cacheSizes: () => new Map(informers.map((i) => [i.kind, i.size])),
  };
}
