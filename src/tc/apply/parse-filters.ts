// `tc -s -j filter show dev X ingress` -> KernelFilter list, with flower filters read back into
// the pipeline IR so the planner can compare them with the desired state.
//
// tc prints two objects per filter (a header without `options`, then the filter) and spells a few
// things its own way: protocol "802.1Q", host addresses without a prefix length, port ranges as
// {start, end}, ICMP types as strings.

import type { Action, EthType, FilterProtocol, FlowerMatch, IpProto, MatchDraft } from '../ir.js';
import type { KernelFilter } from './device-state.js';
import { formatAddress, parseCidrInterval } from '../../util/ip/index.js';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function protocolOf(p: unknown): FilterProtocol | undefined {
  const s = String(p).toLowerCase();
  return (['all', 'ip', 'ipv6', '802.1q', '802.1ad'] as const).find((x) => x === s);
}

function ethTypeOf(v: unknown): EthType | undefined {
  const s = String(v).toLowerCase();
  return (['ip', 'ipv6', '802.1q', '802.1ad', 'arp'] as const).find((x) => x === s);
}

/** tc prints hosts without a prefix and IPv6 through inet_ntop (::ffff:1.2.3.4): canonicalise. */
function withPrefix(ip: unknown): string | undefined {
  if (typeof ip !== 'string') return undefined;
  const parsed = parseCidrInterval(ip);
  if (!parsed) return ip;
  const [addr, len] = ip.split('/');
  const prefix = len ?? (addr!.includes(':') ? '128' : '32');
  return `${formatAddress(parsed.interval[0], parsed.family)}/${prefix}`;
}

/** Flower keys back into a FlowerMatch; undefined when a key is one the compiler never writes. */
function parseKeys(keys: Json): FlowerMatch | undefined {
  const m: MatchDraft = {};
  for (const [k, v] of Object.entries(keys)) {
    switch (k) {
      case 'eth_type':
        break; // implied by the filter protocol and VLAN keys
      case 'vlan_ethtype':
        m.vlanEthType = ethTypeOf(v);
        if (!m.vlanEthType) return undefined;
        break;
      case 'cvlan_ethtype':
        m.cvlanEthType = ethTypeOf(v);
        if (!m.cvlanEthType) return undefined;
        break;
      case 'ct_state':
        if (v !== '+trk+est' && v !== '+trk+rel' && v !== '+trk+new') return undefined;
        m.ctState = v;
        break;
      case 'ip_proto':
        if (!['tcp', 'udp', 'sctp', 'icmp', 'icmpv6'].includes(String(v))) return undefined;
        m.ipProto = v as IpProto;
        break;
      case 'src_ip':
        m.srcIp = withPrefix(v);
        break;
      case 'dst_ip':
        m.dstIp = withPrefix(v);
        break;
      case 'dst_port':
        if (typeof v === 'number') m.dstPort = [v, v];
        else if (isObj(v) && typeof v.start === 'number' && typeof v.end === 'number')
          m.dstPort = [v.start, v.end];
        else return undefined;
        break;
      case 'icmp_type': {
        // "135", or "134/254" for a masked type (iproute2 prints the mask when it is not 255).
        const [value, mask] = String(v).split('/');
        m.icmpType = Number(value);
        if (mask !== undefined && Number(mask) !== 0xff) m.icmpTypeMask = Number(mask);
        if (!Number.isInteger(m.icmpType) || (mask !== undefined && !Number.isInteger(Number(mask))))
          return undefined;
        break;
      }
      default:
        return undefined;
    }
  }
  return m;
}

function parseActions(
  list: unknown,
): { actions: Action[]; cookie?: string; goto?: number; packets?: number } | undefined {
  if (!Array.isArray(list)) return undefined;
  const actions: Action[] = [];
  let cookie: string | undefined;
  let goto: number | undefined;
  let packets: number | undefined;
  const sorted = [...list].filter(isObj).sort((a, b) => Number(a.order ?? 0) - Number(b.order ?? 0));
  for (const a of sorted) {
    if (typeof a.cookie === 'string') cookie = a.cookie;
    if (packets === undefined && isObj(a.stats) && typeof a.stats.packets === 'number')
      packets = a.stats.packets;
    const control = isObj(a.control_action) ? a.control_action : {};
    if (a.kind === 'gact') {
      if (control.type === 'pass') actions.push({ kind: 'pass' });
      else if (control.type === 'drop') actions.push({ kind: 'drop' });
      else if (control.type === 'goto' && typeof control.chain === 'number') {
        actions.push({ kind: 'goto', chain: control.chain });
        goto = control.chain;
      } else return undefined;
    } else if (a.kind === 'ct') {
      if (control.type !== 'pipe') return undefined;
      const commit = a.action === 'commit';
      if (a.action !== undefined && !commit) return undefined;
      actions.push({ kind: 'ct', commit });
    } else {
      return undefined;
    }
  }
  return {
    actions,
    ...(cookie ? { cookie } : {}),
    ...(goto !== undefined ? { goto } : {}),
    ...(packets !== undefined ? { packets } : {}),
  };
}

/** The ct zone of the first ct action, for the planner's zone check. */
export function ctZoneOf(entry: Json): number | undefined {
  const opts = isObj(entry.options) ? entry.options : {};
  if (!Array.isArray(opts.actions)) return undefined;
  for (const a of opts.actions) if (isObj(a) && a.kind === 'ct' && typeof a.zone === 'number') return a.zone;
  return undefined;
}

export function parseFilterDump(dump: unknown[], expectedCtZone?: number): KernelFilter[] {
  const out: KernelFilter[] = [];
  for (const e of dump) {
    if (!isObj(e) || !isObj(e.options)) continue; // per-prio header
    const chain = typeof e.chain === 'number' ? e.chain : 0;
    const prio = typeof e.pref === 'number' ? e.pref : 0;
    const protocol = protocolOf(e.protocol);
    const k: KernelFilter = { chain, prio, protocol: protocol ?? String(e.protocol) };
    if (typeof e.options.handle === 'number') k.handle = e.options.handle;
    const acts = parseActions(e.options.actions);
    if (acts?.cookie) k.cookie = acts.cookie;
    if (acts?.goto !== undefined) k.gotoChain = acts.goto;
    if (acts?.packets !== undefined) k.packets = acts.packets;
    const o = e.options;
    k.offload = {
      inHw: o.in_hw === true,
      ...(typeof o.in_hw_count === 'number' ? { inHwCount: o.in_hw_count } : {}),
      notInHw: o.not_in_hw === true,
      skipSw: o.skip_sw === true,
      skipHw: o.skip_hw === true,
    };
    const keys = isObj(e.options.keys) ? parseKeys(e.options.keys) : {};
    const zone = ctZoneOf(e);
    const zoneOk = expectedCtZone === undefined || zone === undefined || zone === expectedCtZone;
    if (e.kind === 'flower' && protocol && keys && acts && zoneOk) {
      k.filter = { prio, protocol, match: keys, actions: acts.actions, note: '' };
    }
    out.push(k);
  }
  return out;
}
