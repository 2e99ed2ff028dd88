// Reads a pod's secondary interfaces from k8s.v1.cni.cncf.io/network-status (or, when that is
// absent, the deprecated networks-status that older Multus wrote). The entry marked default is the
// primary cluster network and is not ours.

import { canonicalIp } from '../util/ip/index.js';
import { EFFECT } from './effects.js';
import { annotationPath, childPath } from './field-path.js';
import { canonicalMac, isNetdevName } from './name-checks.js';
import { ANNOTATION } from './objects.js';
import { parseDeviceInfo } from './parse-device-info.js';
import type { Parsed } from './parsed.js';
import type { Problem } from './problem.js';
import type { PodInterface } from './snapshot.js';

/** Addresses one network-status entry may list. */
const MAX_ADDRESSES = 1024;

/** One address as network-status writes it, with or without a prefix length, in canonical form. */
export function statusIp(s: unknown): string | undefined {
  if (typeof s !== 'string') return undefined;
  const [addr = '', prefix, extra] = s.split('/');
  if (extra !== undefined) return undefined;
  const ip = canonicalIp(addr);
  if (!ip) return undefined;
  if (prefix !== undefined) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefix) || Number(prefix) > (ip.family === 4 ? 32 : 128))
      return undefined;
  }
  return ip.ip;
}

/** "ns/name" for a network-status name; a bare name belongs to the pod's namespace. */
function networkKey(name: string, podNamespace: string): string | undefined {
  const parts = name.split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) return undefined;
  return parts.length === 2 ? name : `${podNamespace}/${name}`;
}

type EntryResult =
  { iface: PodInterface; problems: Problem[] } | { skip: string; field?: string; problems: Problem[] };

function readEntry(raw: unknown, path: string, podNamespace: string, object: string): EntryResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { skip: 'must be an object', problems: [] };
  const e = raw as Record<string, unknown>;
  const network = typeof e.name === 'string' ? networkKey(e.name, podNamespace) : undefined;
  if (!network)
    return {
      skip: `network name ${JSON.stringify(e.name)} is not "name" or "namespace/name"`,
      field: 'name',
      problems: [],
    };
  if (typeof e.interface !== 'string' || !isNetdevName(e.interface)) {
    return {
      skip: `interface ${JSON.stringify(e.interface)} is not an interface name`,
      field: 'interface',
      problems: [],
    };
  }
  const rawIps = e.ips ?? [];
  if (!Array.isArray(rawIps)) return { skip: 'must be a list of addresses', field: 'ips', problems: [] };
  // An interface has a few addresses; a list of thousands is an error (and would cost every
  // policy compile a host block each).
  if (rawIps.length > MAX_ADDRESSES)
    return {
      skip: `lists ${rawIps.length} addresses, more than ${MAX_ADDRESSES}`,
      field: 'ips',
      problems: [],
    };
  const ips = new Set<string>();
  for (const [i, s] of rawIps.entries()) {
    const ip = statusIp(s);
    if (!ip) return { skip: `${JSON.stringify(s)} is not an IP address`, field: `ips[${i}]`, problems: [] };
    ips.add(ip);
  }
  const iface: PodInterface = { network, interface: e.interface, ips: [...ips] };
  const problems: Problem[] = [];
  if (e.mac !== undefined && e.mac !== '') {
    const mac = typeof e.mac === 'string' ? canonicalMac(e.mac) : undefined;
    if (mac) iface.mac = mac;
    else {
      const message = `${JSON.stringify(e.mac)} is not a MAC address`;
      problems.push({
        severity: 'warning',
        object,
        path: childPath(path, 'mac'),
        message,
        effect: 'the MAC is ignored',
      });
    }
  }
  const device = parseDeviceInfo(e['device-info'], childPath(path, 'device-info'), object);
  problems.push(...device.problems);
  Object.assign(iface, device.value);
  return { iface, problems };
}

/** Parses the text of one network-status annotation stored under `key`. */
export function parseNetworkStatusText(
  text: string,
  key: string,
  podNamespace: string,
  object: string,
): Parsed<PodInterface[]> {
  const path = annotationPath(key);
  const fail = (message: string): Parsed<PodInterface[]> => ({
    value: [],
    problems: [{ severity: 'error', object, path, message, effect: EFFECT.interfacesUnmanaged }],
  });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return fail(`is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(data)) return fail('must be a JSON list');
  const value: PodInterface[] = [];
  const problems: Problem[] = [];
  data.forEach((raw: unknown, i) => {
    if ((raw as { default?: unknown } | null)?.default === true) return;
    const entryPath = childPath(path, i);
    const r = readEntry(raw, entryPath, podNamespace, object);
    problems.push(...r.problems);
    if ('skip' in r) {
      const p = r.field ? `${entryPath}.${r.field}` : entryPath;
      problems.push({
        severity: 'error',
        object,
        path: p,
        message: r.skip,
        effect: EFFECT.interfaceUnmanaged,
      });
    } else if (value.some((v) => v.interface === r.iface.interface)) {
      const message = `interface ${r.iface.interface} is listed twice`;
      problems.push({
        severity: 'error',
        object,
        path: entryPath,
        message,
        effect: 'the later entry is ignored',
      });
    } else {
      value.push(r.iface);
    }
  });
  return { value, problems };
}

/**
 * A pod's secondary interfaces from its annotations. The deprecated key is read only when the
 * current one is absent. `object` names the pod in Problems ("Pod app/db").
 */
export function parseNetworkStatus(
  annotations: Record<string, string> | undefined,
  podNamespace: string,
  object: string,
): Parsed<PodInterface[]> {
  for (const key of [ANNOTATION.networkStatus, ANNOTATION.networkStatusDeprecated]) {
    const text = annotations?.[key];
    if (typeof text === 'string') return parseNetworkStatusText(text, key, podNamespace, object);
  }
  return { value: [], problems: [] };
}
