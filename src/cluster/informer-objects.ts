// The objects of the informers' caches as the snapshot builder reads them. List items carry no
// kind or apiVersion, so each gets a typed copy. The copy is remembered per cached object: an
// informer keeps an object as the same value until the API server changes it, and the snapshot
// builder, diffSnapshots and the incremental model update recognise unchanged objects by
// identity. A fresh copy per snapshot would make every change a full re-read of the cluster.

import type { SourcedObject } from './build-snapshot.js';

export interface InformerList {
  apiVersion: string;
  kind: string;
  /** The informer cache's objects, in its order. */
  objects: readonly object[];
}

export class InformerObjects {
  private readonly typedCopies = new WeakMap<object, object>();

  /** The objects of every list, typed, in list order; unchanged objects give the same values. */
  read(lists: readonly InformerList[]): SourcedObject[] {
    const out: SourcedObject[] = [];
    for (const list of lists) {
      for (const obj of list.objects) out.push({ obj: this.typed(obj, list.apiVersion, list.kind) });
    }
    return out;
  }

  private typed(obj: object, apiVersion: string, kind: string): object {
    const o = obj as { apiVersion?: unknown; kind?: unknown };
    if (o.apiVersion === apiVersion && o.kind === kind) return obj;
    // An informer holds one kind: its objects' copies are never asked for with another.
    const hit = this.typedCopies.get(obj);
    if (hit) return hit;
    const copy = { ...obj, apiVersion, kind };
    this.typedCopies.set(obj, copy);
    return copy;
  }
}
