// PortSet algebra: a rule's ports resolved on a destination pod, and set operations on them.
// Ranges are kept sorted, merged and disjoint, so equal sets have equal keys.

import type { PodInfo } from '../cluster/snapshot.js';
import {
  type L4Protocol,
  type PortEntry,
  type PortRange,
  type PortSet,
  type PortsSpec,
  type Protocol,
  PROTOCOLS,
} from './types.js';

const MAX_PORT = 65535;

export const ALL_PORTS: PortSet = Object.freeze({ all: true }) as PortSet;

export function emptyPortSet(): PortSet {
  return { all: false, TCP: [], UDP: [], SCTP: [] };
}

/** Sorts and merges overlapping or adjacent inclusive ranges. */
export function normalizeRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: PortRange[] = [];
  for (const [from, to] of sorted) {
    const last = out[out.length - 1];
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}

function intersectRanges(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  const out: PortRange[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as PortRange;
    const y = b[j] as PortRange;
    const from = Math.max(x[0], y[0]);
    const to = Math.min(x[1], y[1]);
    if (from <= to) out.push([from, to]);
    if (x[1] < y[1]) i++;
    else j++;
  }
  return out;
}

/**
 * The ports a rule allows towards `dstPod`. Named ports resolve on the destination pod by name
 * AND protocol (every matching container port); with no destination pod, or no match, a named
 * entry contributes nothing.
 */
export function resolvePorts(ports: PortsSpec, dstPod: PodInfo | undefined): PortSet {
  if (ports.kind === 'all') return ALL_PORTS;
  return ports.fixed ?? resolveEntries(ports, dstPod);
}

/**
 * A rule's list of port entries, with its ports resolved once when no entry is named (the
 * compiler asks per source, destination and address, and compares the sets by identity first).
 */
export function listOfPorts(entries: PortEntry[]): PortsSpec {
  const list: PortsSpec = { kind: 'list', entries };
  if (!entries.some((e) => e.kind === 'named')) list.fixed = resolveEntries(list, undefined);
  return list;
}

function resolveEntries(ports: Extract<PortsSpec, { kind: 'list' }>, dstPod: PodInfo | undefined): PortSet {
  const acc: Record<Protocol, PortRange[]> = { TCP: [], UDP: [], SCTP: [] };
  for (const entry of ports.entries) {
    switch (entry.kind) {
      case 'protocol':
        acc[entry.protocol].push([0, MAX_PORT]);
        break;
      case 'range':
        acc[entry.protocol].push([entry.port, entry.endPort]);
        break;
      case 'named':
        for (const np of dstPod?.namedPorts ?? []) {
          if (np.name === entry.name && np.protocol === entry.protocol)
            acc[entry.protocol].push([np.port, np.port]);
        }
        break;
    }
  }
  return {
    all: false,
    TCP: normalizeRanges(acc.TCP),
    UDP: normalizeRanges(acc.UDP),
    SCTP: normalizeRanges(acc.SCTP),
  };
}

// Port sets are never changed once built, so an operation whose answer is one of its operands
// returns that operand (and its cached key) instead of a copy.

export function portSetUnion(a: PortSet, b: PortSet): PortSet {
  if (a.all) return a;
  if (b.all || a === b || portSetIsEmpty(a)) return b;
  if (portSetIsEmpty(b)) return a;
  return {
    all: false,
    TCP: normalizeRanges([...a.TCP, ...b.TCP]),
    UDP: normalizeRanges([...a.UDP, ...b.UDP]),
    SCTP: normalizeRanges([...a.SCTP, ...b.SCTP]),
  };
}

export function portSetIntersect(a: PortSet, b: PortSet): PortSet {
  if (a.all || a === b) return b;
  if (b.all) return a;
  return {
    all: false,
    TCP: intersectRanges(a.TCP, b.TCP),
    UDP: intersectRanges(a.UDP, b.UDP),
    SCTP: intersectRanges(a.SCTP, b.SCTP),
  };
}

/**
 * Whether the set allows `protocol`/`port`. ICMP and ICMPv6 have no ports: only `{all: true}`
 * (a rule without `ports`) allows them. A port-based protocol without a port is contained only
 * when every port of it is.
 */
export function portSetContains(set: PortSet, protocol: L4Protocol, port?: number): boolean {
  if (set.all) return true;
  if (protocol === 'ICMP' || protocol === 'ICMPv6') return false;
  const ranges = set[protocol];
  if (port === undefined) return ranges.some(([from, to]) => from === 0 && to === MAX_PORT);
  return ranges.some(([from, to]) => from <= port && port <= to);
}

export function portSetIsEmpty(set: PortSet): boolean {
  return !set.all && PROTOCOLS.every((p) => set[p].length === 0);
}

/** Canonical text: "all", or e.g. "TCP:80,8000-8080;UDP:;SCTP:". Equal sets give equal keys. */
export function portSetKey(set: PortSet): string {
  if (set.all) return 'all';
  let key = keyCache.get(set);
  if (key === undefined) {
    key = computeKey(set);
    keyCache.set(set, key);
  }
  return key;
}

// Port sets are never changed once built, and the compiler asks for the key of one set many times.
const keyCache = new WeakMap<PortSet, string>();

function computeKey(set: Extract<PortSet, { all: false }>): string {
  return PROTOCOLS.map(
    (p) =>
      `${p}:${normalizeRanges(set[p])
        .map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`))
        .join(',')}`,
  ).join(';');
}

export function portSetEquals(a: PortSet, b: PortSet): boolean {
  return a === b || portSetKey(a) === portSetKey(b);
}

/** Readable form for explanations: "all ports and protocols", "TCP 80, UDP 53", "nothing". */
export function formatPortSet(set: PortSet): string {
  if (set.all) return 'all ports and protocols';
  const parts: string[] = [];
  for (const p of PROTOCOLS) {
    for (const [from, to] of set[p]) {
      if (from === 0 && to === MAX_PORT) parts.push(`${p} (all ports)`);
      else parts.push(from === to ? `${p} ${from}` : `${p} ${from}-${to}`);
    }
  }
  return parts.length === 0 ? 'nothing' : parts.join(', ');
}
