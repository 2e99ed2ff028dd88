// A read-only map that is an older map plus a few changes, so that an update of a large index
// (thousands of interfaces) costs what it changes and not a copy of the whole. The older map is
// never modified. Layers do not stack: a layered map over a layered map copies its changes along
// (so an edit costs the changes made since the last flatten), and once the changes grow past
// 64 + 1/8 of the whole, the result is flattened into a plain Map. Meant for lookups: iteration
// works, but a key deleted and set again keeps its old place, unlike in a plain Map.

const DELETED = Symbol('deleted');

export class LayeredMap<K, V> implements ReadonlyMap<K, V> {
  /** @internal Built by MapDraft.finish. */
  constructor(
    readonly base: ReadonlyMap<K, V>,
    readonly changes: ReadonlyMap<K, V | typeof DELETED>,
    readonly size: number,
  ) {}

  /** `map` with the changes `edit` makes to a draft of it (a LayeredMap, or a plain Map when flattened). */
  static edit<K, V>(map: ReadonlyMap<K, V>, edit: (draft: MapDraft<K, V>) => void): ReadonlyMap<K, V> {
    const draft = new MapDraft(map);
    edit(draft);
    return draft.finish();
  }

  get(k: K): V | undefined {
    const v = this.changes.get(k);
    if (v !== undefined || this.changes.has(k)) return v === DELETED ? undefined : (v as V);
    return this.base.get(k);
  }

  has(k: K): boolean {
    return this.changes.has(k) ? this.changes.get(k) !== DELETED : this.base.has(k);
  }

  /** The base map's order, with changed values in place, then keys the changes added. */
  *entries(): MapIterator<[K, V]> {
    for (const [k, v] of this.base) {
      if (!this.changes.has(k)) yield [k, v];
      else {
        const c = this.changes.get(k)!;
        if (c !== DELETED) yield [k, c];
      }
    }
    for (const [k, c] of this.changes) {
      if (c !== DELETED && !this.base.has(k)) yield [k, c];
    }
  }

  *keys(): MapIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }
}

/** Changes to a map, read through: what `finish` turns into a new map; the start map stays as it is. */
export class MapDraft<K, V> {
  private readonly start: ReadonlyMap<K, V>;
  private readonly base: ReadonlyMap<K, V>;
  private readonly changes: Map<K, V | typeof DELETED>;
  private readonly touchedKeys = new Set<K>();
  private size: number;

  constructor(map: ReadonlyMap<K, V>) {
    this.start = map;
    // A draft of a layered map continues its changes over the same base (layers never stack).
    this.base = map instanceof LayeredMap ? (map.base as ReadonlyMap<K, V>) : map;
    this.changes = new Map(
      map instanceof LayeredMap ? (map.changes as ReadonlyMap<K, V | typeof DELETED>) : [],
    );
    this.size = map.size;
  }

  get(k: K): V | undefined {
    if (!this.changes.has(k)) return this.base.get(k);
    const v = this.changes.get(k)!;
    return v === DELETED ? undefined : v;
  }

  has(k: K): boolean {
    return this.changes.has(k) ? this.changes.get(k) !== DELETED : this.base.has(k);
  }

  set(k: K, v: V): void {
    if (!this.has(k)) this.size++;
    this.changes.set(k, v);
    this.touchedKeys.add(k);
  }

  delete(k: K): void {
    this.touchedKeys.add(k);
    if (!this.has(k)) return;
    this.size--;
    if (this.base.has(k)) this.changes.set(k, DELETED);
    else this.changes.delete(k);
  }

  /** Keys set or deleted through this draft. */
  touched(): IterableIterator<K> {
    return this.touchedKeys.values();
  }

  finish(): ReadonlyMap<K, V> {
    if (this.touchedKeys.size === 0) return this.start;
    if (this.changes.size === 0) return this.base;
    const layered = new LayeredMap<K, V>(this.base, new Map(this.changes), this.size);
    return this.changes.size > 64 + this.base.size / 8 ? new Map(layered) : layered;
  }
}
