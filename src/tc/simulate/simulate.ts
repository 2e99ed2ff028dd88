// Runs one packet through one device's pipeline, filter by filter, as the kernel's flower
// classifier would: the test oracle for the compiler and the engine behind `explain`.

import type { Action, Chain, DevicePipeline, Filter, FlowerMatch } from '../ir.js';
import { Conntrack, type CtState, type Packet } from './packet.js';
import { parseAddress, parseCidrInterval } from '../../util/ip/index.js';
import { DEFAULT_COMPILE_OPTIONS } from '../compile/options.js';
import type { ParsedPrefix, SimulatorMemo } from './simulator-memo.js';
import { absoluteChain } from '../layout.js';

export interface Hit {
  chain: number;
  prio: number;
  note: string;
  actions: readonly Action[];
  filter: Filter;
}

export interface DeviceResult {
  device: string;
  verdict: 'pass' | 'drop';
  /** True when no filter decided: the packet fell off a chain (the kernel then accepts it). */
  unclassified: boolean;
  hits: Hit[];
}

function outerProtocol(p: Packet): string {
  return p.tags.length > 0 ? p.tags[0]! : p.ethType;
}

/** Ethertype after `depth` tags: what vlan_ethtype (depth 1) and cvlan_ethtype (depth 2) see. */
function ethTypeAfter(p: Packet, depth: number): string {
  return p.tags.length > depth ? p.tags[depth]! : p.ethType;
}

function ipIn(ip: string | undefined, cidr: string): boolean {
  if (!ip) return false;
  // Measured on Linux 6.1: a filter with src_ip 0.0.0.0/0 matched no packet at all.
  if (cidr.endsWith('/0')) return false;
  const a = parseAddress(ip);
  const c = parseCidrInterval(cidr);
  return !!a && !!c && a.family === c.family && a.value >= c.interval[0] && a.value <= c.interval[1];
}

/**
 * Whether filter `f` matches packet `p` in conntrack state `ct`, from the filter's text alone:
 * the plain definition, which `matchesParsed` (what simulateDevice runs) must agree with.
 */
export function matchesFromScratch(f: Filter, p: Packet, ct: 'untracked' | CtState): boolean {
  const m = f.match;
  if (!matchesExceptAddresses(f, m, p, ct)) return false;
  if (m.srcIp && !ipIn(p.srcIp, m.srcIp)) return false;
  if (m.dstIp && !ipIn(p.dstIp, m.dstIp)) return false;
  return true;
}

/** Every key but src_ip and dst_ip (which only check that the packet is IP when present). */
function matchesExceptAddresses(f: Filter, m: FlowerMatch, p: Packet, ct: 'untracked' | CtState): boolean {
  if (f.protocol !== 'all' && f.protocol !== outerProtocol(p)) return false;
  if (m.vlanEthType && (p.tags.length < 1 || ethTypeAfter(p, 1) !== m.vlanEthType)) return false;
  if (m.cvlanEthType && (p.tags.length < 2 || ethTypeAfter(p, 2) !== m.cvlanEthType)) return false;
  if (m.ctState) {
    if (ct === 'untracked') return false;
    if (m.ctState === '+trk+est' && ct !== 'est') return false;
    if (m.ctState === '+trk+new' && ct !== 'new') return false;
    if (m.ctState === '+trk+rel') return false; // the simulator has no related connections
  }
  const isIp = p.ethType === 'ip' || p.ethType === 'ipv6';
  if ((m.ipProto || m.srcIp || m.dstIp || m.dstPort || m.icmpType !== undefined) && !isIp) return false;
  if (m.ipProto && p.ipProto !== m.ipProto) return false;
  if (m.dstPort && (p.dstPort === undefined || p.dstPort < m.dstPort[0] || p.dstPort > m.dstPort[1]))
    return false;
  if (m.icmpType !== undefined) {
    const mask = m.icmpTypeMask ?? 0xff;
    if (p.icmpType === undefined || (p.icmpType & mask) !== (m.icmpType & mask)) return false;
  }
  return true;
}

/** An address as the packet carries it, parsed; undefined when absent or not an address. */
type ParsedAddress = { family: 4 | 6; value: bigint } | undefined;

function inPrefix(a: ParsedAddress, c: ParsedPrefix): boolean {
  return c !== 'never' && a !== undefined && a.family === c.family && a.value >= c.lo && a.value <= c.hi;
}

/** A packet's addresses, parsed once per packet and device rather than once per filter tried. */
export interface ParsedPacketAddresses {
  src: ParsedAddress;
  dst: ParsedAddress;
}

export function parsePacketAddresses(p: Packet): ParsedPacketAddresses {
  return {
    src: p.srcIp ? parseAddress(p.srcIp) : undefined,
    dst: p.dstIp ? parseAddress(p.dstIp) : undefined,
  };
}

/** matchesFromScratch, with the filter's addresses from the memo and the packet's parsed once. */
export function matchesParsed(
  memo: SimulatorMemo,
  f: Filter,
  p: Packet,
  addresses: ParsedPacketAddresses,
  ct: 'untracked' | CtState,
): boolean {
  const m = f.match;
  if (!matchesExceptAddresses(f, m, p, ct)) return false;
  if (!m.srcIp && !m.dstIp) return true;
  const k = memo.addressKeysOf(f);
  if (k.src && !inPrefix(addresses.src, k.src)) return false;
  if (k.dst && !inPrefix(addresses.dst, k.dst)) return false;
  return true;
}

/**
 * `d` reduced to what a packet to one of `destinations` (addresses) can meet: filters whose
 * dst_ip holds none of them are left out, and so are the chains no kept filter reaches. For such
 * a packet simulateDevice gives the same result on both: every filter it could match is kept,
 * in the order the kernel tries them (a subsequence of kernelOrder, which kernelOrder leaves as
 * it is). What `explain --matrix` holds of an uplink: the chains of the pods of its table.
 * `memo` is the caller's, usually that of the simulator that will run the packets.
 */
export function deviceForDestinations(
  memo: SimulatorMemo,
  d: DevicePipeline,
  destinations: readonly string[],
): DevicePipeline {
  const addresses = destinations.map((a) => parseAddress(a)).filter((a) => a !== undefined);
  const keep = (f: Filter) => {
    if (!f.match.dstIp) return true;
    const k = memo.addressKeysOf(f).dst!;
    return addresses.some((a) => inPrefix(a, k));
  };
  const byIndex = memo.chainsByIndex(d);
  const kept = new Map<number, Chain>();
  const todo = [0];
  while (todo.length > 0) {
    const index = todo.pop()!;
    const c = byIndex.get(index);
    if (!c || kept.has(index)) continue;
    const filters = memo.kernelOrder(index, c.filters).filter(keep);
    kept.set(index, { ...c, filters });
    for (const f of filters) for (const a of f.actions) if (a.kind === 'goto') todo.push(a.chain);
  }
  return { ...d, chains: [...kept.values()].sort((a, b) => a.index - b.index) };
}

/**
 * Simulate `p` on device `d`. `conntrack` is the node's: ct actions look the packet up in `zone`
 * and commits add to it, so a reply simulated afterwards sees the connection. Filters are tried
 * in the kernel's order (kernelOrder), and a chain tc would refuse throws. `memo` is the caller's:
 * what it learns of `d` (chains by index, their order, parsed addresses) serves its next packets.
 */
export function simulateDevice(
  memo: SimulatorMemo,
  d: DevicePipeline,
  p: Packet,
  conntrack: Conntrack,
  zone: number = DEFAULT_COMPILE_OPTIONS.ctZone,
): DeviceResult {
  const hits: Hit[] = [];
  if (d.chains.length === 0) return { device: d.device, verdict: 'pass', unclassified: true, hits };
  const chains = memo.chainsByIndex(d);
  const addresses = parsePacketAddresses(p);
  let chain = 0;
  let ct: 'untracked' | CtState = 'untracked';
  for (let steps = 0; steps < 64; steps++) {
    const c = chains.get(chain);
    const f = c && memo.kernelOrder(chain, c.filters).find((x) => matchesParsed(memo, x, p, addresses, ct));
    if (!c || !f) return { device: d.device, verdict: 'pass', unclassified: true, hits };
    hits.push({ chain: absoluteChain(0, chain), prio: f.prio, note: f.note, actions: f.actions, filter: f });
    let next: number | undefined;
    for (const a of f.actions) {
      if (a.kind === 'ct') {
        // act_ct on Linux 6.1 cannot parse a frame whose inner 802.1Q tag sits in the payload
        // (QinQ) and drops it; the compiler must keep such frames away from ct.
        // By the same reasoning any second tag, and a frame without an IP header, are not
        // tracked either: the simulator drops them, never more lenient than the kernel.
        const untrackable = p.tags[0] === '802.1ad' || p.tags.length > 1;
        if (untrackable || (p.ethType !== 'ip' && p.ethType !== 'ipv6')) {
          return { device: d.device, verdict: 'drop', unclassified: false, hits };
        }
        ct = conntrack.lookup(p, zone);
        if (a.commit) conntrack.commit(p, zone);
      } else if (a.kind === 'pass') {
        return { device: d.device, verdict: 'pass', unclassified: false, hits };
      } else if (a.kind === 'drop') {
        return { device: d.device, verdict: 'drop', unclassified: false, hits };
      } else {
        next = a.chain;
        break;
      }
    }
    if (next === undefined) return { device: d.device, verdict: 'pass', unclassified: true, hits };
    chain = next;
  }
  throw new Error(`simulate: chain loop on ${d.device}`);
}
