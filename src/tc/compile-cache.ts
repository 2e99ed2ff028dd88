// Memory of earlier compiles, for recompiling a node after a small change. Entries are keyed by
// the identity of the model objects a piece of the pipeline was built from: the policy model keeps
// unchanged interfaces and resolved rules as the same objects from one build to the next (see
// src/policy/update-model.ts), and never changes them once built. A hit therefore gives exactly
// what building again would give; the compile result is the same with or without a cache.

import type { ChainFragment } from './chain-set.js';
import type { EgressPart } from './compile-device.js';

interface Entry<V> {
  inputs: readonly unknown[];
  value: V;
  used: boolean;
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

export class CompileCache {
  /** Chain +2 part of a VF for destinations off the node: the source's egress rules. */
  readonly egress = new Memo<EgressPart>();
  /** Source chain of one local pod's ingress on an uplink. */
  readonly ingress = new Memo<{ ref: string; fragment: ChainFragment }>();

  sweep(): void {
    this.egress.sweep();
    this.ingress.sweep();
  }
}
