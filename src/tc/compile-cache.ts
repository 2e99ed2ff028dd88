// Memory of earlier compiles, for recompiling a node after a small change. Entries are keyed by
// the identity of the model objects a piece of the pipeline was built from: the policy model keeps
// unchanged interfaces and resolved rules as the same objects from one build to the next (see
// src/policy/update-model.ts), and never changes them once built. A hit therefore gives exactly
// what building again would give; the compile result is the same with or without a cache.

import type { PodInfo } from '../cluster/snapshot.js';
import type { DirectionPolicy, ManagedInterface, PortSet } from '../policy/types.js';
import type { Family } from './encapsulation.js';
import type { Contribution } from './address-space.js';
import type { EgressPart, IngressPart, IngressSources, Overrides } from './compile-device.js';

interface Entry<V> {
  inputs: readonly unknown[];
  /** Content key (getStaged only). */
  content?: string;
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

/**
 * Equal direction policies as the compiler reads them: isolation and the same rule objects (a
 * changed pod gets a new policy object, mostly with the same rules).
 */
export function sameDirection(a: DirectionPolicy, b: DirectionPolicy): boolean {
  return a === b || (a.isolated === b.isolated && sameInputs(a.rules, b.rules));
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

  /**
   * Like `get`, in two stages: when the inputs are new objects, `stage` computes a cheap content
   * key first; if that equals the key of the cached value, the cached value is kept (the same
   * object, so whatever depends on it is reused too) and only `build` is skipped.
   */
  getStaged(name: string, inputs: readonly unknown[], stage: () => { content: string; build: () => V }): V {
    const e = this.entries.get(name);
    if (e && sameInputs(e.inputs, inputs)) {
      e.used = true;
      return e.value;
    }
    const { content, build } = stage();
    if (e && e.content === content) {
      e.inputs = inputs;
      e.used = true;
      return e.value;
    }
    const value = build();
    this.entries.set(name, { inputs, content, value, used: true });
    return value;
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

interface PairEntry {
  src: ManagedInterface;
  q: ManagedInterface;
  value: Contribution<PortSet>[];
  used: boolean;
}

/**
 * Decisions between two pod interfaces of one node. A node has (VFs × pods) of them, so this memo
 * compares the fields a decision reads directly, without building an inputs list per lookup.
 */
export class PairMemo {
  /** source key -> destination key -> one entry per family. */
  private bySource = new Map<string, Map<string, Partial<Record<Family, PairEntry>>>>();

  get(
    src: ManagedInterface,
    q: ManagedInterface,
    family: Family,
    build: (src: ManagedInterface, q: ManagedInterface, family: Family) => Contribution<PortSet>[],
  ): Contribution<PortSet>[] {
    let row = this.bySource.get(src.key);
    if (!row) this.bySource.set(src.key, (row = new Map()));
    let cell = row.get(q.key);
    if (!cell) row.set(q.key, (cell = {}));
    const e = cell[family];
    if (
      e &&
      sameDirection(e.src.egress, src.egress) &&
      sameDirection(e.q.ingress, q.ingress) &&
      sameIps(e.src.ips, src.ips) &&
      sameIps(e.q.ips, q.ips) &&
      namedPortsKey(e.q.podInfo) === namedPortsKey(q.podInfo)
    ) {
      e.used = true;
      return e.value;
    }
    const value = build(src, q, family);
    cell[family] = { src, q, value, used: true };
    return value;
  }

  sweep(): void {
    for (const [s, row] of this.bySource) {
      for (const [q, cell] of row) {
        for (const f of [4, 6] as const) {
          const e = cell[f];
          if (e && !e.used) delete cell[f];
          else if (e) e.used = false;
        }
        if (!cell[4] && !cell[6]) row.delete(q);
      }
      if (row.size === 0) this.bySource.delete(s);
    }
  }
}

export class CompileCache {
  /** Chain +2 part of a VF for destinations off the node: the source's egress rules. */
  readonly egress = new Memo<EgressPart>();
  /** What one VF's pod may open to one other pod of the node. */
  readonly pairs = new PairMemo();
  /** A VF's decisions for the pods of its node that differ from its egress rules. */
  readonly overrides = new Memo<Overrides>();
  /** Sources one local pod's ingress rules allow, per set of rule objects. */
  readonly ingressSources = new Memo<IngressSources>();
  /** Source chain (on an uplink) per content. */
  readonly ingress = new Memo<IngressPart>();

  sweep(): void {
    this.egress.sweep();
    this.pairs.sweep();
    this.overrides.sweep();
    this.ingress.sweep();
    this.ingressSources.sweep();
  }
}
