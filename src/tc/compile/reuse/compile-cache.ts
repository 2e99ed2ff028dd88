// Memory of earlier compiles, for recompiling a node after a small change. Entries are keyed by
// the identity of the model objects a piece of the pipeline was built from: the policy model keeps
// unchanged interfaces and resolved rules as the same objects from one build to the next (see
// src/policy/update-model.ts), and never changes them once built. Where objects are new, an entry
// is kept only when what it was built from is shown equal: the same content (address pieces,
// decisions), or a rule an update replaced that differs only at addresses the entry does not
// read (the update's ModelDelta, recorded in the CompileMemo). A hit therefore gives exactly what building again would give; the compile
// result is the same with or without a cache.

import type { PodInfo } from '../../../cluster/snapshot.js';
import type { DirectionPolicy, ManagedInterface, PortSet, ResolvedRule } from '../../../policy/types.js';
import { portSetKey } from '../../../policy/ports.js';
import type { Family } from '../../../util/ip/index.js';
import type { Contribution } from '../../../util/ip/index.js';
import type { ChainFragment } from '../chains/chain-set.js';
import type { CompileMemo } from './compile-memo.js';
import type {
  EgressPart,
  IngressPart,
  LastEgress,
  LastIngress,
  Overrides,
  PairOverrides,
  RuleSources,
  UplinkParts,
  VfParts,
} from '../devices/vf.js';

interface Entry<V> {
  inputs: readonly unknown[];
  value: V;
  used: boolean;
}

const ids = new WeakMap<object, number>();
let nextId = 1;

/** A number for an object, the same for as long as the object lives (for cache names). */
export function objectId(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
}

/** Equal address lists (a changed pod gets new arrays, mostly with the same addresses). */
export function sameIps(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}

const namedPortKeys = new WeakMap<PodInfo, string>();

/** A pod as the compiler reads it: only its named ports (a label change leaves them alone). */
export function namedPortsKey(pod: PodInfo): string {
  let key = namedPortKeys.get(pod);
  if (key === undefined) namedPortKeys.set(pod, (key = JSON.stringify(pod.namedPorts)));
  return key;
}

export function sameInputs(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One kind of cached value, by name; a value is reused only while its inputs are the same objects. */
export class Memo<V> {
  private entries = new Map<string, Entry<V>>();

  get(name: string, inputs: readonly unknown[], build: () => V): V {
    const e = this.entries.get(name);
    if (e && sameInputs(e.inputs, inputs)) {
      e.used = true;
      return e.value;
    }
    const value = build();
    this.entries.set(name, { inputs, value, used: true });
    return value;
  }

  /** Keep an entry through the next sweep without looking it up (see ingressPart). */
  touch(name: string): void {
    const e = this.entries.get(name);
    if (e) e.used = true;
  }

  /** Forget what the last compile did not use (deleted pods, replaced rules). */
  sweep(): void {
    for (const [name, e] of this.entries) {
      if (!e.used) this.entries.delete(name);
      else e.used = false;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * The latest value per name, for builds that reuse parts of their previous version (address
 * maps, see prefix-rules.ts). A name not looked at during a compile is forgotten by `sweep`.
 */
export class Latest<V> {
  private entries = new Map<string, { value: V; used: boolean }>();

  get(name: string): V | undefined {
    const e = this.entries.get(name);
    if (e) e.used = true;
    return e?.value;
  }

  set(name: string, value: V): void {
    this.entries.set(name, { value, used: true });
  }

  sweep(): void {
    for (const [name, e] of this.entries) {
      if (!e.used) this.entries.delete(name);
      else e.used = false;
    }
  }
}

/**
 * What one VF's pod may open to each other pod interface of its node on the same network, per
 * family (see planVf). A node has (VFs x pods) of these; a row is kept per VF and compared with
 * the next compile's peers one by one, so an unchanged pair costs an identity check.
 */
export interface DecisionRow {
  src: ManagedInterface;
  peers: readonly ManagedInterface[];
  /** The VF's egress parts the differences were taken against. */
  egress: Record<Family, EgressPart>;
  decisions: Record<Family, Contribution<PortSet>[][]>;
  /** Per pair, the decisions that differ from the egress part alone (see overridesOf). */
  differences: Record<Family, PairOverrides[]>;
}

/**
 * Where `next` differs from `prev`: the addresses of the changed pods, when every rule is the old
 * one or an update's replacement of it (as recorded from its ModelDelta in `memo`); undefined when
 * the lists are otherwise different.
 */
export function changedAddresses(
  memo: CompileMemo,
  next: readonly ResolvedRule[],
  prev: readonly ResolvedRule[],
): Set<string> | undefined {
  // A VF's rules are compared with their last version once per peer: remember the last answer.
  const hit = memo.changedAt.get(next);
  if (hit && hit.prev === prev) return hit.at;
  const at = walkChanges(memo, next, prev);
  memo.changedAt.set(next, { prev, at });
  return at;
}

function walkChanges(
  memo: CompileMemo,
  next: readonly ResolvedRule[],
  prev: readonly ResolvedRule[],
): Set<string> | undefined {
  if (next.length !== prev.length) return undefined;
  const at = new Set<string>();
  for (let i = 0; i < next.length; i++) {
    const n = next[i]!;
    if (n === prev[i]) continue;
    const change = memo.ruleChanges.get(n);
    if (!change || change.previous !== prev[i]) return undefined;
    for (const ip of change.addresses) at.add(ip);
  }
  return at;
}

/**
 * Rule lists that decide the same for peers at `ips`: the same rules, or rules an update replaced
 * that differ from the old ones only at other addresses.
 */
export function sameRulesAt(
  memo: CompileMemo,
  next: readonly ResolvedRule[],
  prev: readonly ResolvedRule[],
  ips: readonly string[],
): boolean {
  if (next === prev) return true;
  const at = changedAddresses(memo, next, prev);
  return at !== undefined && !ips.some((ip) => at.has(ip));
}

/** Direction policies that decide the same for peers at `ips` (see sameRulesAt). */
export function sameDirectionAt(
  memo: CompileMemo,
  a: DirectionPolicy,
  b: DirectionPolicy,
  ips: readonly string[],
): boolean {
  return a === b || (a.isolated === b.isolated && sameRulesAt(memo, a.rules, b.rules, ips));
}

/** Equal decisions from `a` to `q` as from `b` to `r`: the fields a pair decision reads are the same. */
export function samePairInputs(
  memo: CompileMemo,
  a: ManagedInterface,
  q: ManagedInterface,
  b: ManagedInterface,
  r: ManagedInterface,
): boolean {
  return (
    (a === b || (sameIps(a.ips, b.ips) && sameDirectionAt(memo, a.egress, b.egress, q.ips))) &&
    (q === r ||
      (sameIps(q.ips, r.ips) &&
        (q.podInfo === r.podInfo || namedPortsKey(q.podInfo) === namedPortsKey(r.podInfo)) &&
        sameDirectionAt(memo, q.ingress, r.ingress, a.ips)))
  );
}

export function sameDecisions(a: Contribution<PortSet>[], b: Contribution<PortSet>[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (x, i) =>
        x.intervals.length === 1 &&
        b[i]!.intervals.length === 1 &&
        x.intervals[0]![0] === b[i]!.intervals[0]![0] &&
        x.intervals[0]![1] === b[i]!.intervals[0]![1] &&
        portSetKey(x.value) === portSetKey(b[i]!.value),
    )
  );
}

export class CompileCache {
  /** What a set of egress rule objects allows, as pieces (shared by VFs with those rules). */
  readonly egressSources = new Memo<RuleSources>();
  /** Chain +2 part of a VF for destinations off the node, per content of its egress rules. */
  readonly egressParts = new Memo<EgressPart>();
  /** The last egress part of each VF and family, and the rules it was built for. */
  readonly lastEgress = new Latest<LastEgress>();
  /** What one VF's pod may open to the other pods of the node, per VF. */
  readonly decisionRows = new Latest<DecisionRow>();
  /** A VF's decisions for the pods of its node that differ from its egress rules, per VF. */
  readonly overrides = new Latest<Overrides>();
  /** Sources one local pod's ingress rules allow, per set of rule objects. */
  readonly ingressSources = new Memo<RuleSources>();
  /** Source chain (on an uplink) per content. */
  readonly ingress = new Memo<IngressPart>();
  /** The last source chain per pod interface and family (its address map is reused in part). */
  readonly lastIngress = new Latest<LastIngress>();
  /** Parts of an uplink's last build (classify chain, chain +2 address maps), per device. */
  readonly uplinkParts = new Latest<UplinkParts>();
  /** Parts of a VF's last build (classify chain, override filters, rest of chain +2), per VF. */
  readonly vfParts = new Latest<VfParts>();
  /** Both egress parts of a VF merged in prio order, per pair of parts (see vfTail). */
  readonly egressRuns = new Memo<ChainFragment>();

  sweep(): void {
    this.lastIngress.sweep();
    this.uplinkParts.sweep();
    this.vfParts.sweep();
    this.egressRuns.sweep();
    this.egressSources.sweep();
    this.egressParts.sweep();
    this.lastEgress.sweep();
    this.decisionRows.sweep();
    this.overrides.sweep();
    this.ingress.sweep();
    this.ingressSources.sweep();
  }
}
