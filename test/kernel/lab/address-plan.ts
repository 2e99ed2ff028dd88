// Which addresses and routes each pod interface of the lab gets, so that every pod reaches every
// other pod of its network whatever the address layout: the address takes the prefix length of
// the NAD's IPAM subnet that contains it (host-local `subnet` or `ranges`, also inside a
// conflist), or a host prefix (/32, /128) when there is none; every other address of the network
// that this prefix does not cover gets an on-link host route. Pure, so unit tests can check it.

import type { ClusterSnapshot } from '../../../src/cluster/snapshot.js';
import type { ManagedInterface, PolicyModel } from '../../../src/policy/types.js';
import { parseAddress, parseCidrInterval } from '../../../src/util/ip/index.js';

export interface InterfacePlan {
  /** "10.20.1.10/24" */
  addresses: string[];
  /** Host prefixes reached on-link: "10.20.2.10/32". */
  routes: string[];
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** IPAM subnets of a CNI config (a config or a conflist). */
function subnetsOfConfig(config: Record<string, unknown>): string[] {
  const out: string[] = [];
  const ipam = record(config.ipam);
  if (typeof ipam?.subnet === 'string') out.push(ipam.subnet);
  if (Array.isArray(ipam?.ranges)) {
    for (const set of ipam.ranges) {
      for (const r of Array.isArray(set) ? set : [set]) {
        const subnet = record(r)?.subnet;
        if (typeof subnet === 'string') out.push(subnet);
      }
    }
  }
  if (Array.isArray(config.plugins))
    for (const p of config.plugins) out.push(...subnetsOfConfig(record(p) ?? {}));
  return out;
}

/** network ("ns/name") -> the IPAM subnets its NAD declares. */
export function ipamSubnets(snapshot: ClusterSnapshot): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const nad of snapshot.raw?.nads ?? []) {
    const raw = nad.spec?.config;
    let config: Record<string, unknown> | undefined;
    try {
      config = typeof raw === 'string' ? record(JSON.parse(raw)) : undefined;
    } catch {
      config = undefined;
    }
    const subnets = config ? subnetsOfConfig(config).filter((s) => parseCidrInterval(s)) : [];
    out.set(`${nad.metadata.namespace ?? 'default'}/${nad.metadata.name}`, subnets);
  }
  return out;
}

function contains(cidr: string, ip: string): boolean {
  const c = parseCidrInterval(cidr);
  const a = parseAddress(ip);
  return !!c && !!a && c.family === a.family && a.value >= c.interval[0] && a.value <= c.interval[1];
}

/** The prefix an address is configured with: its IPAM subnet's, or a host prefix. */
function connectedPrefix(ip: string, subnets: string[]): string {
  const subnet = subnets.find((s) => contains(s, ip));
  const length = subnet ? subnet.split('/')[1]! : ip.includes(':') ? '128' : '32';
  return `${ip}/${length}`;
}

/** interface key -> its plan. */
export function addressPlan(snapshot: ClusterSnapshot, model: PolicyModel): Map<string, InterfacePlan> {
  const subnets = ipamSubnets(snapshot);
  const plans = new Map<string, InterfacePlan>();
  const byNetwork = new Map<string, ManagedInterface[]>();
  for (const i of model.interfaces) byNetwork.set(i.network, [...(byNetwork.get(i.network) ?? []), i]);
  for (const [network, ifaces] of byNetwork) {
    const nets = subnets.get(network) ?? [];
    for (const i of ifaces) {
      const addresses = i.ips.map((ip) => connectedPrefix(ip, nets));
      const routes: string[] = [];
      for (const other of ifaces) {
        if (other === i) continue;
        for (const ip of other.ips) {
          const covered = addresses.some((a) => contains(a, ip));
          if (!covered) routes.push(`${ip}/${ip.includes(':') ? 128 : 32}`);
        }
      }
      plans.set(i.key, { addresses, routes: [...new Set(routes)] });
    }
  }
  return plans;
}
