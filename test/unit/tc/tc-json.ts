// What `tc -s -j filter show dev X ingress` prints for a pipeline the agent installed, written from
// the output captured on the lab kernel: one header object per filter (protocol, pref, kind, chain)
// followed by the full object; protocol "802.1Q" spelled upper-case; host addresses without a
// prefix length; IPv6 addresses as inet_ntop prints them; port ranges as {start, end}; ICMP types
// as strings; the ct action as {kind: "ct", [action: "commit"], zone, control_action: pipe}.

import type { Action, DevicePipeline, EthType, Filter, FilterProtocol } from '../../../src/tc/ir.js';
import {
  absoluteChain,
  ENTRY_COOKIE,
  type ChainNumbering,
  type FreshChoice,
} from '../../../src/tc/layout.js';

export type Json = Record<string, unknown>;

/** tc's spelling of a filter protocol / VLAN ethertype (ll_proto_n2a). */
export function tcProtocolName(p: FilterProtocol | EthType): string {
  return p === '802.1q' ? '802.1Q' : p;
}

/** flower prints eth_type as ipv4/ipv6/arp, anything else in hex. */
function ethTypeName(t: EthType): string {
  switch (t) {
    case 'ip':
      return 'ipv4';
    case 'ipv6':
      return 'ipv6';
    case 'arp':
      return 'arp';
    case '802.1q':
      return '8100';
    case '802.1ad':
      return '88a8';
  }
}

function ipv4Text(bytes: number[]): string {
  return bytes.join('.');
}

/**
 * An IPv6 address as glibc's inet_ntop prints it: RFC 5952 zero compression (longest run of two or
 * more zero groups, the first on a tie) and a dotted-quad tail for IPv4-mapped (::ffff:a.b.c.d) and
 * IPv4-compatible (::a.b.c.d) addresses.
 */
export function inetNtop6(value: bigint): string {
  const words: number[] = [];
  for (let i = 7; i >= 0; i--) words.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  const tail4 =
    bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))
      ? ipv4Text([words[6]! >> 8, words[6]! & 255, words[7]! >> 8, words[7]! & 255])
      : undefined;
  const end = tail4 === undefined ? 8 : 6;
  const hex = (from: number, to: number) =>
    words
      .slice(from, to)
      .map((w) => w.toString(16))
      .join(':');
  let text: string;
  if (bestBase < 0) text = hex(0, end);
  else text = `${hex(0, bestBase)}::${hex(bestBase + bestLen, end)}`;
  if (tail4 === undefined) return text;
  return text.endsWith(':') ? `${text}${tail4}` : `${text}:${tail4}`;
}

function parseIpv6(text: string): bigint {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (s: string | undefined): number[] => {
    if (!s) return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (g.includes('.')) {
        const b = g.split('.').map(Number);
        out.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return all.reduce((v, g) => (v << 16n) | BigInt(g), 0n);
}

/** A CIDR from the IR as tc prints it: host prefixes without a length, IPv6 through inet_ntop. */
export function tcAddress(cidr: string): string {
  const [addr, len] = cidr.split('/') as [string, string];
  const v6 = addr.includes(':');
  const text = v6 ? inetNtop6(parseIpv6(addr)) : addr;
  return Number(len) === (v6 ? 128 : 32) ? text : `${text}/${len}`;
}

function stats(packets: number): Json {
  return { bytes: packets * 100, packets, drops: 0, overlimits: 0, requeues: 0, backlog: 0, qlen: 0 };
}

let actionIndex = 1;

function actionJson(
  a: Action,
  order: number,
  chainOf: ChainNumbering,
  ctZone: number,
  packets: number,
): Json {
  const common = {
    index: actionIndex++,
    ref: 1,
    bind: 1,
    installed: 12,
    last_used: 3,
    stats: stats(packets),
  };
  if (a.kind === 'ct') {
    return {
      order,
      kind: 'ct',
      ...(a.commit ? { action: 'commit' } : {}),
      zone: ctZone,
      control_action: { type: 'pipe' },
      ...common,
    };
  }
  const control = a.kind === 'goto' ? { type: 'goto', chain: chainOf(a.chain) } : { type: a.kind };
  return {
    order,
    kind: 'gact',
    control_action: control,
    prob: { random_type: 'none', control_action: { type: 'pass' }, val: 0 },
    ...common,
  };
}

/** The flower keys of a filter as tc prints them. */
export function keysJson(f: Filter): Json {
  const m = f.match;
  const keys: Json = {};
  if (m.vlanEthType) keys.vlan_ethtype = tcProtocolName(m.vlanEthType);
  if (m.cvlanEthType) keys.cvlan_ethtype = tcProtocolName(m.cvlanEthType);
  const inner: EthType | undefined =
    m.cvlanEthType ?? m.vlanEthType ?? (f.protocol === 'all' ? undefined : (f.protocol as EthType));
  if (inner) keys.eth_type = ethTypeName(inner);
  if (m.ipProto) keys.ip_proto = m.ipProto;
  if (m.dstIp) keys.dst_ip = tcAddress(m.dstIp);
  if (m.srcIp) keys.src_ip = tcAddress(m.srcIp);
  if (m.dstPort) {
    const [a, b] = m.dstPort;
    keys.dst_port = a === b ? a : { start: a, end: b };
  }
  // Measured in the lab (Linux 6.1, iproute2 6.1): a masked type reads back as "134/254".
  if (m.icmpType !== undefined)
    keys.icmp_type = m.icmpTypeMask === undefined ? `${m.icmpType}` : `${m.icmpType}/${m.icmpTypeMask}`;
  if (m.ctState) keys.ct_state = m.ctState;
  return keys;
}

export interface DumpOptions {
  /** Every chain at this fresh base (0: 10000 + relative, 1: 20000 + relative)... */
  gen?: FreshChoice;
  /** ...or numbered by this (a planned numbering). */
  numbering?: ChainNumbering;
  ctZone: number;
  /** Print the per-filter header objects (tc does). Default true. */
  headers?: boolean;
  /** Report the filters as offloaded (in_hw) instead of not_in_hw. */
  inHw?: boolean;
}

/** Header and full object of one filter. */
export function filterJson(
  f: { protocol: string; pref: number; chain: number; handle: number; keys: Json; actions: Json[] },
  opts: { headers?: boolean; inHw?: boolean },
): Json[] {
  const header = { protocol: f.protocol, pref: f.pref, kind: 'flower', chain: f.chain };
  const hw = opts.inHw ? { in_hw: true, in_hw_count: 1 } : { not_in_hw: true };
  const full = { ...header, options: { handle: f.handle, keys: f.keys, ...hw, actions: f.actions } };
  return opts.headers === false ? [full] : [header, full];
}

/** The entry filter as tc prints it, pointing at `gotoChain`. */
export function entryJson(gotoChain: number, opts: { headers?: boolean; inHw?: boolean } = {}): Json[] {
  const action: Json = {
    order: 1,
    kind: 'gact',
    control_action: { type: 'goto', chain: gotoChain },
    prob: { random_type: 'none', control_action: { type: 'pass' }, val: 0 },
    index: actionIndex++,
    ref: 1,
    bind: 1,
    installed: 0,
    last_used: 0,
    cookie: ENTRY_COOKIE,
    stats: stats(0),
  };
  return filterJson({ protocol: 'all', pref: 1, chain: 0, handle: 1, keys: {}, actions: [action] }, opts);
}

/** The whole dump of a device carrying `d` numbered as `opts` says, entry included. */
export function deviceDump(d: DevicePipeline, opts: DumpOptions): Json[] {
  const chainOf = opts.numbering ?? ((rel: number) => absoluteChain(opts.gen ?? 0, rel));
  const out: Json[] = [...entryJson(chainOf(0), opts)];
  for (const c of d.chains) {
    const chain = chainOf(c.index);
    const handles = new Map<number, number>();
    for (const f of c.filters) {
      const handle = (handles.get(f.prio) ?? 0) + 1;
      handles.set(f.prio, handle);
      const actions = f.actions.map((a, i) => actionJson(a, i + 1, chainOf, opts.ctZone, handle * 3));
      out.push(
        ...filterJson(
          { protocol: tcProtocolName(f.protocol), pref: f.prio, chain, handle, keys: keysJson(f), actions },
          opts,
        ),
      );
    }
  }
  return out;
}

/** Only the chains' filters (no entry): e.g. leftovers of an interrupted update. */
export function generationDump(d: DevicePipeline, opts: DumpOptions): Json[] {
  return deviceDump(d, opts).slice(opts.headers === false ? 1 : 2);
}
