// Rendering: determinism (same input, or the same objects in another order, give byte-identical
// output), golden files of `render --format tc` for the example cluster, and the "offloadable set":
// every rendered line uses only the hook, classifier, keys and actions the compiler may use.
//
// UPDATE_GOLDEN=1 rewrites the golden files from the current CLI output.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, it, before } from 'mocha';
import { buildSnapshot, type SourcedObject } from '../../../src/cluster/build-snapshot.js';
import { loadManifestsDir } from '../../../src/cluster/load-manifests.js';
import type { ClusterSnapshot } from '../../../src/cluster/snapshot.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import { compileNode } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS, type CompileOptions } from '../../../src/tc/compile/options.js';
import type { NodePipeline } from '../../../src/tc/ir.js';
import {
  ENTRY_CHAIN,
  ENTRY_COOKIE,
  ENTRY_HANDLE,
  ENTRY_PRIO,
  FRESH_BASE,
  RELATIVE_SPAN,
  type FreshChoice,
} from '../../../src/tc/layout.js';
import { renderNodeJson } from '../../../src/tc/render/render-json.js';
import { renderChainLines, renderEntryLine, renderNodeTc } from '../../../src/tc/render/render-tc.js';
import { build, clusterArb, PLUGIN } from './cluster-gen.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const examples = join(root, 'examples', 'manifests');
const golden = (node: string) => join(root, 'test', 'golden', `render-${node}.tc`);
const EXAMPLE_NODES = ['worker-1', 'worker-2'];

/** Deterministic pseudo-random generator (mulberry32), for shuffles that replay. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(list: readonly T[], random: () => number): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A deep copy of a raw object with the order of a pod's network-status entries and container ports shuffled. */
function shuffleInside(obj: unknown, random: () => number): unknown {
  const copy = structuredClone(obj) as Record<string, unknown>;
  if (copy.kind !== 'Pod') return copy;
  const meta = copy.metadata as { annotations?: Record<string, string> };
  const key = 'k8s.v1.cni.cncf.io/network-status';
  const status = meta.annotations?.[key];
  if (status !== undefined)
    meta.annotations![key] = JSON.stringify(shuffle(JSON.parse(status) as unknown[], random));
  const spec = copy.spec as { containers?: { ports?: unknown[] }[] } | undefined;
  for (const c of spec?.containers ?? []) if (c.ports) c.ports = shuffle(c.ports, random);
  return copy;
}

interface Rendered {
  tc: string;
  json: string;
}

function renderAll(
  snapshot: ClusterSnapshot,
  nodes: string[],
  opts: CompileOptions = DEFAULT_COMPILE_OPTIONS,
): Rendered[] {
  const model = buildPolicyModel(snapshot, { networkPlugins: [PLUGIN] });
  return nodes.map((node) => {
    const p = compileNode(model, node, snapshot.nodes.get(node), opts);
    return { tc: renderNodeTc(p, opts.ctZone), json: JSON.stringify(renderNodeJson(p, opts.ctZone)) };
  });
}

function nodesOf(objects: unknown[]): string[] {
  return objects
    .filter((o) => (o as { kind?: string }).kind === 'Node')
    .map((o) => (o as { metadata: { name: string } }).metadata.name);
}

let exampleObjects: SourcedObject[] = [];

before(async () => {
  exampleObjects = (await loadManifestsDir(examples)).objects;
});

describe('render: determinism', () => {
  it('the examples render byte-identically twice, and after shuffling objects, pods, policies and ports', () => {
    const first = renderAll(buildSnapshot(exampleObjects), EXAMPLE_NODES);
    expect(first[0]!.tc).to.match(/^filter add dev eth1 /m);
    const again = renderAll(buildSnapshot(structuredClone(exampleObjects)), EXAMPLE_NODES);
    expect(again).to.deep.equal(first);
    for (let seed = 1; seed <= 20; seed++) {
      const random = rng(seed);
      const shuffled = shuffle(exampleObjects, random).map((o) => ({
        ...o,
        obj: shuffleInside(o.obj, random),
      }));
      expect(renderAll(buildSnapshot(shuffled), EXAMPLE_NODES), `shuffle seed ${seed}`).to.deep.equal(first);
    }
  });

  it('random clusters render byte-identically after shuffling their objects', () => {
    const clusters = fc.sample(clusterArb, { seed: 7, numRuns: 150 });
    let filters = 0;
    clusters.forEach((c, i) => {
      const nodes = nodesOf(c.objects);
      const first = renderAll(build(c.objects).snapshot, nodes);
      filters += first.reduce((n, r) => n + (r.tc.match(/^filter /gm)?.length ?? 0), 0);
      const random = rng(1000 + i);
      for (let k = 0; k < 3; k++) {
        const shuffled = shuffle(c.objects, random).map((o) => shuffleInside(o, random));
        expect(renderAll(build(shuffled).snapshot, nodes), `cluster ${i} shuffle ${k}`).to.deep.equal(first);
      }
    });
    expect(filters, 'the clusters rendered filters').to.be.greaterThan(1000);
  });
});

describe('render: golden files of the examples', () => {
  for (const node of EXAMPLE_NODES) {
    it(`render --format tc --hostname-override ${node} matches test/golden/render-${node}.tc`, function () {
      this.timeout(20_000);
      const out = execFileSync(
        process.execPath,
        [
          join(root, 'build', 'src', 'cli', 'main.js'),
          'render',
          '--manifests',
          examples,
          '--hostname-override',
          node,
        ],
        { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden(node), out);
      expect(out).to.equal(readFileSync(golden(node), 'utf8'));
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The offloadable set.

/** A cheap assertion for the hot loops (chai's expect is slow over tens of thousands of lines). */
function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

function checkEqual<T>(actual: T, wanted: T, message: string): void {
  if (actual !== wanted) throw new Error(`${message}: got ${String(actual)}, want ${String(wanted)}`);
}

const PROTOCOLS = new Set(['all', 'ip', 'ipv6', '802.1q', '802.1ad']);
const ETH_TYPES = new Set(['ip', 'ipv6', '802.1q', '802.1ad', 'arp']);
const KEYS = new Set([
  'vlan_ethtype',
  'cvlan_ethtype',
  'ct_state',
  'ip_proto',
  'src_ip',
  'dst_ip',
  'dst_port',
  'type',
]);
const CT_STATES = new Set(['+trk+est', '+trk+rel', '+trk+new']);
const IP_PROTOS = new Set(['tcp', 'udp', 'sctp', 'icmp', 'icmpv6']);
const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IPV6_CIDR = /^[0-9a-f:]+\/(\d{1,3})$/;

interface ParsedLine {
  verb: string;
  dev: string;
  protocol: string;
  pref: number;
  handle?: number;
  chain: number;
  keys: Map<string, string>;
  actions: string[][];
  gotos: number[];
  cookie?: string;
}

/** Parses one rendered filter line, failing on anything outside the offloadable set. */
function parseFilterLine(line: string, zone: number): ParsedLine {
  const t = line.split(' ');
  let i = 0;
  const take = (what: string): string => {
    const v = t[i++];
    if (v === undefined) throw new Error(`${line}: missing ${what}`);
    return v;
  };
  const expectWord = (w: string) => checkEqual(take(w), w, line);
  expectWord('filter');
  const verb = take('verb');
  check(verb === 'add' || verb === 'replace', `${line}: verb`);
  expectWord('dev');
  const dev = take('dev');
  checkEqual(take('hook'), 'ingress', `${line}: ingress hook only`);
  expectWord('protocol');
  const protocol = take('protocol');
  check(PROTOCOLS.has(protocol), `${line}: protocol`);
  expectWord('pref');
  const pref = Number(take('pref'));
  let handle: number | undefined;
  if (t[i] === 'handle') {
    i++;
    handle = Number(take('handle'));
  }
  expectWord('chain');
  const chain = Number(take('chain'));
  checkEqual(take('classifier'), 'flower', `${line}: flower only`);
  const keys = new Map<string, string>();
  while (i < t.length && t[i] !== 'action') {
    const k = take('key');
    check(KEYS.has(k), `${line}: key ${k} is outside the offloadable set`);
    check(!keys.has(k), `${line}: key ${k} twice`);
    keys.set(k, take(`value of ${k}`));
  }
  const actions: string[][] = [];
  const gotos: number[] = [];
  let cookie: string | undefined;
  while (i < t.length) {
    expectWord('action');
    const kind = take('action kind');
    if (kind === 'gact') {
      const what = take('gact control');
      if (what === 'goto') {
        expectWord('chain');
        const target = Number(take('goto chain'));
        gotos.push(target);
        actions.push(['goto', `${target}`]);
      } else {
        check(what === 'pass' || what === 'drop', `${line}: gact ${what}`);
        actions.push([what]);
      }
    } else if (kind === 'ct') {
      const parts = ['ct'];
      if (t[i] === 'commit') parts.push(take('commit'));
      expectWord('zone');
      checkEqual(Number(take('zone')), zone, `${line}: ct zone`);
      checkEqual(take('ct control'), 'pipe', `${line}: ct ... pipe`);
      actions.push(parts);
    } else {
      throw new Error(`${line}: action ${kind} is outside the offloadable set`);
    }
    if (t[i] === 'cookie') {
      i++;
      cookie = take('cookie');
    }
  }
  check(actions.length > 0, `${line}: at least one action`);
  return {
    verb,
    dev,
    protocol,
    pref,
    ...(handle !== undefined ? { handle } : {}),
    chain,
    keys,
    actions,
    gotos,
    ...(cookie ? { cookie } : {}),
  };
}

/** Key combinations tc flower accepts (and hardware can match): what each key needs first. */
function checkKeys(p: ParsedLine, line: string): void {
  const k = p.keys;
  const vlan = k.get('vlan_ethtype');
  const cvlan = k.get('cvlan_ethtype');
  if (vlan !== undefined) {
    check(p.protocol === '802.1q' || p.protocol === '802.1ad', `${line}: vlan_ethtype needs a VLAN protocol`);
    check(ETH_TYPES.has(vlan), line);
  }
  if (cvlan !== undefined) {
    checkEqual(p.protocol, '802.1ad', `${line}: cvlan_ethtype needs an 802.1ad outer tag`);
    check(vlan === '802.1q' || vlan === '802.1ad', `${line}: cvlan_ethtype needs an inner tag`);
    check(ETH_TYPES.has(cvlan), line);
  }
  // The ethertype the IP keys see: the filter protocol, or the innermost VLAN ethertype.
  const inner = cvlan ?? vlan ?? p.protocol;
  const ct = k.get('ct_state');
  if (ct !== undefined) {
    check(CT_STATES.has(ct), line);
    checkEqual(p.protocol, 'all', `${line}: ct_state filters are protocol all`);
  }
  const proto = k.get('ip_proto');
  const ipKeys = ['ip_proto', 'src_ip', 'dst_ip', 'dst_port', 'type'].filter((x) => k.has(x));
  if (ipKeys.length > 0) check(inner === 'ip' || inner === 'ipv6', `${line}: ${ipKeys.join(',')} needs IP`);
  if (proto !== undefined) check(IP_PROTOS.has(proto), line);
  for (const key of ['src_ip', 'dst_ip']) {
    const v = k.get(key);
    if (v === undefined) continue;
    if (inner === 'ip') {
      const m = IPV4_CIDR.exec(v);
      check(
        m !== null && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32,
        `${line}: ${key} is an IPv4 CIDR`,
      );
    } else {
      const m = IPV6_CIDR.exec(v);
      check(m !== null && Number(m[1]) <= 128, `${line}: ${key} is an IPv6 CIDR`);
    }
  }
  const port = k.get('dst_port');
  if (port !== undefined) {
    check(proto === 'tcp' || proto === 'udp' || proto === 'sctp', `${line}: dst_port needs tcp/udp/sctp`);
    const m = /^(\d+)(?:-(\d+))?$/.exec(port);
    check(m !== null, `${line}: dst_port N or N-M`);
    const lo = Number(m![1]);
    const hi = m![2] === undefined ? lo : Number(m![2]);
    check(lo <= 65535 && hi <= 65535, line);
    if (m![2] !== undefined) check(lo < hi, `${line}: a range has lo < hi`);
  }
  const type = k.get('type');
  if (type !== undefined) {
    check(proto === 'icmp' || proto === 'icmpv6', `${line}: type needs icmp`);
    check(proto === 'icmp' ? inner === 'ip' : inner === 'ipv6', `${line}: ICMP version matches IP version`);
    const byte = (x: string | undefined) => x !== undefined && /^\d+$/.test(x) && Number(x) <= 255;
    const [value, mask, ...rest] = type.split('/');
    check(
      byte(value) && (mask === undefined || byte(mask)) && rest.length === 0,
      `${line}: type N or N/MASK`,
    );
  }
  if (proto === 'icmpv6') checkEqual(inner, 'ipv6', line);
  if (proto === 'icmp') checkEqual(inner, 'ip', line);
}

interface SetStats {
  lines: number;
  devices: number;
}

/** Every line of a node's `render --format tc` (a fresh install, chains 10000 + relative) is in the offloadable set. */
function checkNodeRender(p: NodePipeline, zone: number, stats: SetStats): void {
  const text = renderNodeTc(p, zone);
  const byDevice = new Map<string, ParsedLine[]>();
  const qdiscs = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    stats.lines++;
    const q = /^qdisc add dev (\S+) clsact$/.exec(line);
    if (q) {
      qdiscs.add(q[1]!);
      continue;
    }
    const f = parseFilterLine(line, zone);
    checkKeys(f, line);
    check(qdiscs.has(f.dev), `${line}: qdisc before filters`);
    byDevice.set(f.dev, [...(byDevice.get(f.dev) ?? []), f]);
  }
  for (const d of p.devices) {
    const lines = byDevice.get(d.device) ?? [];
    if (d.chains.length === 0) {
      checkEqual(lines.length, 0, `${d.device}: no lines without chains`);
      continue;
    }
    stats.devices++;
    checkDeviceLines(d.device, lines, 0);
    // The entry comes last: the device is switched on only once its chains are complete.
    checkEqual(lines[lines.length - 1]!.chain, ENTRY_CHAIN, `${d.device}: the entry comes last`);
    // The second fresh base renders the same pipeline in the other range.
    const gen1 = renderChainLines(d, 1, zone).map((l) => {
      const f = parseFilterLine(l, zone);
      checkKeys(f, l);
      return f;
    });
    gen1.push(parseFilterLine(renderEntryLine(d.device, FRESH_BASE[1], 'replace'), zone));
    checkDeviceLines(d.device, gen1, 1);
  }
}

function inBase(chain: number, gen: FreshChoice): boolean {
  return chain >= FRESH_BASE[gen] && chain < FRESH_BASE[gen] + RELATIVE_SPAN;
}

/** One device's filters: the entry, chain ranges, gotos forward to existing chains, one protocol per prio. */
function checkDeviceLines(dev: string, lines: ParsedLine[], gen: FreshChoice): void {
  const entries = lines.filter((l) => l.chain === ENTRY_CHAIN);
  expect(entries, `${dev}: one entry filter`).to.have.length(1);
  const e = entries[0]!;
  expect([e.protocol, e.pref, e.handle, e.cookie, e.keys.size], `${dev}: entry`).to.deep.equal([
    'all',
    ENTRY_PRIO,
    ENTRY_HANDLE,
    ENTRY_COOKIE,
    0,
  ]);
  expect(e.actions, `${dev}: entry goes to the root`).to.deep.equal([['goto', `${FRESH_BASE[gen]}`]]);
  const chains = new Set(lines.map((l) => l.chain));
  const protocolAt = new Map<string, string>();
  const seen = new Set<string>();
  for (const l of lines) {
    if (l !== e) {
      check(inBase(l.chain, gen), `${dev}: chain ${l.chain} at base ${gen}`);
      check(l.handle === undefined, `${dev}: only the entry has a fixed handle`);
      check(l.cookie === undefined, `${dev}: only the entry has the cookie`);
    }
    for (const g of l.gotos) {
      check(inBase(g, gen), `${dev}: goto ${g} stays at base ${gen}`);
      check(chains.has(g), `${dev}: goto ${g} targets a chain that has filters`);
      if (l !== e) check(g > l.chain, `${dev}: goto ${g} from ${l.chain} goes forward`);
    }
    // Flower refuses a second filter with the same keys in one (chain, prio): tc would fail.
    const sig = `${l.chain}/${l.pref}/${l.protocol}/${[...l.keys].map(([k, v]) => `${k}=${v}`).join(',')}`;
    check(!seen.has(sig), `${dev}: two filters with the same keys at chain ${l.chain} pref ${l.pref}`);
    seen.add(sig);
    // The kernel keeps one protocol per (chain, prio).
    const at = `${l.chain}/${l.pref}`;
    const prev = protocolAt.get(at);
    if (prev !== undefined)
      checkEqual(l.protocol, prev, `${dev}: one protocol at chain ${l.chain} pref ${l.pref}`);
    protocolAt.set(at, l.protocol);
    // Decisions end a filter: a goto, pass or drop is the last action; ct comes only before one.
    const last = l.actions[l.actions.length - 1]!;
    check(last[0] !== 'ct', `${dev}: a filter ends in a verdict`);
    check(
      l.actions.slice(0, -1).every((a) => a[0] === 'ct'),
      `${dev}: only ct actions before the verdict`,
    );
  }
  check(chains.has(FRESH_BASE[gen]), `${dev}: the root exists`);
}

describe('render: the offloadable set', () => {
  it('the examples use only ingress flower filters with the allowed keys and actions', () => {
    const snapshot = buildSnapshot(exampleObjects);
    const model = buildPolicyModel(snapshot, { networkPlugins: [PLUGIN] });
    const stats: SetStats = { lines: 0, devices: 0 };
    for (const opts of [DEFAULT_COMPILE_OPTIONS, { ctZone: 7, acceptIcmp: true, acceptIcmpv6: true }]) {
      for (const node of EXAMPLE_NODES) {
        checkNodeRender(compileNode(model, node, snapshot.nodes.get(node), opts), opts.ctZone, stats);
      }
    }
    expect(stats.devices).to.be.greaterThan(4);
    expect(stats.lines).to.be.greaterThan(800);
  });

  it('random clusters use only ingress flower filters with the allowed keys and actions', function () {
    this.timeout(60_000);
    const stats: SetStats = { lines: 0, devices: 0 };
    const zones = [DEFAULT_COMPILE_OPTIONS.ctZone, 1, 65535];
    fc.sample(fc.tuple(clusterArb, fc.nat(2), fc.boolean()), { seed: 11, numRuns: 300 }).forEach(
      ([c, z, icmp]) => {
        const { snapshot, model } = build(c.objects);
        const opts: CompileOptions = { ctZone: zones[z]!, acceptIcmp: icmp, acceptIcmpv6: !icmp };
        for (const node of nodesOf(c.objects)) {
          checkNodeRender(compileNode(model, node, snapshot.nodes.get(node), opts), opts.ctZone, stats);
        }
      },
    );
    expect(stats.devices).to.be.greaterThan(300);
    expect(stats.lines).to.be.greaterThan(10_000);
  });
});
