// IR -> iproute2 `tc` command lines (the arguments after `tc`, as `tc -batch` reads them).
// Pure and deterministic: the same IR renders byte-identical lines.

import type { Action, DevicePipeline, Filter, FlowerMatch, NodePipeline } from '../ir.js';
import { filterCount } from '../ir.js';
import { formatUnenforced } from '../../node/device-map.js';
import {
  absoluteChain,
  ENTRY_CHAIN,
  ENTRY_COOKIE,
  ENTRY_HANDLE,
  ENTRY_PRIO,
  FRESH_NUMBERING,
  type ChainNumbering,
  type FreshChoice,
} from '../layout.js';

/**
 * How relative chains become absolute: a planned numbering, or every chain at one fresh base
 * (0: 10000 + relative, what `render` prints; 1: 20000 + relative).
 */
export type Numbering = ChainNumbering | FreshChoice;

function numberingOf(n: Numbering): ChainNumbering {
  return typeof n === 'function' ? n : (relative) => absoluteChain(n, relative);
}

export function renderMatch(m: FlowerMatch): string[] {
  const out: string[] = [];
  if (m.vlanEthType) out.push('vlan_ethtype', m.vlanEthType);
  if (m.cvlanEthType) out.push('cvlan_ethtype', m.cvlanEthType);
  if (m.ctState) out.push('ct_state', m.ctState);
  if (m.ipProto) out.push('ip_proto', m.ipProto);
  if (m.srcIp) out.push('src_ip', m.srcIp);
  if (m.dstIp) out.push('dst_ip', m.dstIp);
  if (m.dstPort)
    out.push(
      'dst_port',
      m.dstPort[0] === m.dstPort[1] ? `${m.dstPort[0]}` : `${m.dstPort[0]}-${m.dstPort[1]}`,
    );
  if (m.icmpType !== undefined)
    out.push('type', m.icmpTypeMask === undefined ? `${m.icmpType}` : `${m.icmpType}/${m.icmpTypeMask}`);
  return out;
}

export function renderActions(actions: readonly Action[], numbering: Numbering, ctZone: number): string[] {
  const out: string[] = [];
  const chainOf = numberingOf(numbering);
  actions.forEach((a) => {
    switch (a.kind) {
      case 'pass':
        out.push('action', 'gact', 'pass');
        break;
      case 'drop':
        out.push('action', 'gact', 'drop');
        break;
      case 'goto':
        out.push('action', 'gact', 'goto', 'chain', `${chainOf(a.chain)}`);
        break;
      case 'ct':
        out.push('action', 'ct');
        if (a.commit) out.push('commit');
        out.push('zone', `${ctZone}`);
        // The packet continues to the next action (the compiler always follows ct with one).
        out.push('pipe');
        break;
    }
  });
  return out;
}

export function renderFilter(
  dev: string,
  chainAbs: number,
  f: Filter,
  numbering: Numbering,
  ctZone: number,
  skipSw = false,
): string {
  return [
    'filter',
    'add',
    'dev',
    dev,
    'ingress',
    'protocol',
    f.protocol,
    'pref',
    `${f.prio}`,
    'chain',
    `${chainAbs}`,
    'flower',
    ...(skipSw ? ['skip_sw'] : []),
    ...renderMatch(f.match),
    ...renderActions(f.actions, numbering, ctZone),
  ].join(' ');
}

/** The one filter in chain 0 that sends everything to the device's root chain (absolute). */
export function renderEntryLine(dev: string, root: number, verb: 'add' | 'replace', skipSw = false): string {
  return [
    'filter',
    verb,
    'dev',
    dev,
    'ingress',
    'protocol',
    'all',
    'pref',
    `${ENTRY_PRIO}`,
    'handle',
    `${ENTRY_HANDLE}`,
    'chain',
    `${ENTRY_CHAIN}`,
    'flower',
    ...(skipSw ? ['skip_sw'] : []),
    'action',
    'gact',
    'goto',
    'chain',
    `${root}`,
    'cookie',
    ENTRY_COOKIE,
  ].join(' ');
}

/** The filter lines of the given chains of one device (all of them by default), without the entry. */
export function renderChainLines(
  d: DevicePipeline,
  numbering: Numbering,
  ctZone: number,
  relatives?: readonly number[],
): string[] {
  const chainOf = numberingOf(numbering);
  const byIndex = new Map(d.chains.map((c) => [c.index, c]));
  const chains = relatives ? relatives.map((r) => byIndex.get(r)!) : d.chains;
  const lines: string[] = [];
  for (const c of chains) {
    for (const f of c.filters)
      lines.push(renderFilter(d.device, chainOf(c.index), f, chainOf, ctZone, d.skipSw));
  }
  return lines;
}

/** The entry of a fresh install at one base (`render --format json`, the docs' tests). */
export function renderEntry(
  dev: string,
  choice: FreshChoice,
  verb: 'add' | 'replace',
  skipSw = false,
): string {
  return renderEntryLine(dev, absoluteChain(choice, 0), verb, skipSw);
}

/** Kernel filters a device ends up with: the IR filters plus the entry filter. */
export function kernelFilterCount(d: DevicePipeline): number {
  return d.chains.length === 0 ? 0 : filterCount(d) + 1;
}

/**
 * A readable, `tc -batch`-compatible rendering of a whole node for a fresh install (chain 10000 +
 * relative index; comments start with '#').
 */
export function renderNodeTc(p: NodePipeline, ctZone: number): string {
  const out: string[] = [`# node ${p.node}: ${p.devices.length} device(s)`];
  for (const w of p.warnings) out.push(`# warning: ${w}`);
  for (const u of p.unenforced ?? []) out.push(`# ${formatUnenforced(u)}`);
  for (const d of p.devices) {
    out.push('');
    out.push(
      `# device ${d.device} (${d.kind}; networks: ${d.networks.join(', ') || '-'}; filters: ${kernelFilterCount(d)})`,
    );
    if (d.chains.length === 0) {
      out.push('# no filters: nothing on this device needs filtering');
      continue;
    }
    out.push(`qdisc add dev ${d.device} clsact`);
    for (const c of d.chains) {
      const chain = FRESH_NUMBERING(c.index);
      out.push(`# chain ${chain}: ${c.purpose}`);
      for (const f of c.filters)
        out.push(renderFilter(d.device, chain, f, FRESH_NUMBERING, ctZone, d.skipSw));
    }
    out.push(`# entry: chain 0 sends every packet to chain ${FRESH_NUMBERING(0)}`);
    out.push(renderEntryLine(d.device, FRESH_NUMBERING(0), 'add', d.skipSw));
  }
  return out.join('\n') + '\n';
}
