// A raw Pod as the policy engine sees it (PodInfo): labels, placement, named ports and the
// secondary interfaces from network-status.

import { EFFECT } from './effects.js';
import { annotationPath } from './field-path.js';
import type { Pod } from './objects.js';
import { ANNOTATION } from './objects.js';
import { objectNamespace } from './object-ref.js';
import { parseNetworkStatus } from './parse-network-status.js';
import { parseNetworksAnnotation } from './parse-networks-annotation.js';
import type { Parsed } from './parsed.js';
import type { Problem } from './problem.js';
import { arrayField, asRecord, stringField, stringMap } from './read-fields.js';
import type { NamedPort, PodInfo, PodInterface } from './snapshot.js';

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

/**
 * The containers that run alongside the pod's workload, whose ports a named port can name (as
 * Kubernetes' FindPort): the regular containers and the sidecars, init containers with
 * `restartPolicy: Always`. An ordinary init container has exited before the pod serves anything,
 * so its ports name nothing (counting them would widen a rule).
 */
function runningContainers(spec: Record<string, unknown> | undefined): unknown[] {
  const sidecars = arrayField(spec, 'initContainers').filter(
    (c) => stringField(c, 'restartPolicy') === 'Always',
  );
  return [...arrayField(spec, 'containers'), ...sidecars];
}

/**
 * Container ports that have a name, for named-port resolution. Invalid entries were reported by the
 * schema. A name and protocol used twice (Kubernetes accepts it with a warning) is the first one,
 * regular containers before sidecars, as FindPort picks it: opening the later ones would widen.
 */
function namedPorts(pod: Pod): NamedPort[] {
  const containers = runningContainers(asRecord(pod.spec));
  const out: NamedPort[] = [];
  const seen = new Set<string>();
  for (const c of containers) {
    for (const p of arrayField(c, 'ports')) {
      const name = stringField(p, 'name');
      const port = asRecord(p)?.containerPort;
      const protocol = stringField(p, 'protocol') ?? 'TCP';
      const known = PROTOCOLS.find((x) => x === protocol);
      if (!name || !known || typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
        continue;
      if (seen.has(`${known}/${name}`)) continue;
      seen.add(`${known}/${name}`);
      out.push({ name, port, protocol: known });
    }
  }
  return out;
}

/** Networks the pod asked for but that network-status does not list: Multus did not attach them (yet). */
function missingNetworks(pod: Pod, ns: string, object: string, status: Parsed<PodInterface[]>): Problem[] {
  const annotations = stringMap(pod.metadata?.annotations);
  const requested = annotations[ANNOTATION.networks];
  if (requested === undefined) return [];
  const parsed = parseNetworksAnnotation(requested, ns, object);
  const attached = new Set(status.value.map((i) => i.network));
  const hasStatus = [ANNOTATION.networkStatus, ANNOTATION.networkStatusDeprecated].some(
    (k) => k in annotations,
  );
  const missing = parsed.value.filter((n) => !attached.has(`${n.namespace}/${n.name}`));
  // A broken network-status was reported already; do not repeat it per network.
  const statusBroken = status.problems.some((p) => p.severity === 'error');
  if (missing.length === 0 || statusBroken) return parsed.problems;
  const names = missing.map((n) => `${n.namespace}/${n.name}`).join(', ');
  const message = hasStatus
    ? `network-status does not list ${names}`
    : 'the pod has no network-status annotation';
  const path = annotationPath(hasStatus ? ANNOTATION.networkStatus : ANNOTATION.networks);
  return [
    ...parsed.problems,
    { severity: 'warning', object, path, message, effect: EFFECT.interfacesUnmanaged },
  ];
}

function isRunning(pod: Pod): boolean {
  return (stringField(pod.status, 'phase') ?? 'Running') === 'Running';
}

/** `object` names the pod in Problems. A manifest pod without status is taken as Running. */
export function readPod(pod: Pod, object: string): Parsed<PodInfo> {
  const namespace = objectNamespace(pod);
  const spec = asRecord(pod.spec);
  const hostNetwork = spec?.hostNetwork === true;
  const status = parseNetworkStatus(stringMap(pod.metadata?.annotations), namespace, object);
  const info: PodInfo = {
    namespace,
    name: pod.metadata.name,
    uid: stringField(pod.metadata, 'uid') ?? `${namespace}/${pod.metadata.name}`,
    labels: stringMap(pod.metadata?.labels),
    nodeName: stringField(spec, 'nodeName') ?? '',
    hostNetwork,
    phase: stringField(pod.status, 'phase') ?? 'Running',
    namedPorts: namedPorts(pod),
    interfaces: status.value,
  };
  // Host-network and finished pods have no secondary interfaces to miss.
  const extra = hostNetwork || !isRunning(pod) ? [] : missingNetworks(pod, namespace, object, status);
  return { value: info, problems: [...status.problems, ...extra] };
}
