// A read-only map that is an older map plus a few changes, so that an update of a large index
// (thousands of interfaces) costs what it changes and not a copy of the whole. The older map is
// never modified. Layers do not stack: a layered map over a layered map copies its changes along
// (so an edit costs the changes made since the last flatten), and once the changes grow past
// 64 + 1/8 of the whole, the result is flattened into a plain Map. Meant for lookups: iteration
// works, but a key deleted and set again keeps its old place, unlike in a plain Map.

const DELETED = Symbol('deleted');

export class LayeredMap<K, V> implements ReadonlyMap<K, V> {
  private constructor(
    private readonly base: ReadonlyMap<K, V>,
    private readonly changes: ReadonlyMap<K, V | typeof DELETED>,
    readonly size: number,
  ) {}

  /**
   * `map` with the changes `edit` makes to it: `set` and `delete` as on a Map. The result is a
   * LayeredMap, or a plain Map when flattening was cheaper.
   */
  static edit<K, V>(
    map: ReadonlyMap<K, V>,
    edit: (m: { set(k: K, v: V): void; delete(k: K): void; get(k: K): V | undefined }) => void,
  ): ReadonlyMap<K, V> {
    const base = map instanceof LayeredMap ? (map.base as ReadonlyMap<K, V>) : map;
    const changes = new Map<K, V | typeof DELETED>(map instanceof LayeredMap ? map.changes : []);
    let size = map.size;
    const current = (k: K): V | undefined => {
      if (changes.has(k)) {
        const v = changes.get(k);
        return v === DELETED ? undefined : (v as V);
      }
      return base.get(k);
    };
    const present = (k: K): boolean => (changes.has(k) ? changes.get(k) !== DELETED : base.has(k));
    edit({
      set(k, v) {
        if (!present(k)) size++;
        changes.set(k, v);
      },
      delete(k) {
        if (!present(k)) return;
        size--;
        if (base.has(k)) changes.set(k, DELETED);
        else changes.delete(k);
      },
      get: current,
    });
    const layered = new LayeredMap<K, V>(base, changes, size);
    return changes.size > 64 + base.size / 8 ? new Map(layered) : layered;
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

/** Changes to a map, read through: what `finish` turns into a new map; the base stays as it is. */
export class MapDraft<K, V> {
  private readonly changes = new Map<K, V | typeof DELETED>();

  constructor(private readonly base: ReadonlyMap<K, V>) {}

  get(k: K): V | undefined {
    if (!this.changes.has(k)) return this.base.get(k);
    const v = this.changes.get(k)!;
    return v === DELETED ? undefined : v;
  }

  has(k: K): boolean {
    return this.changes.has(k) ? this.changes.get(k) !== DELETED : this.base.has(k);
  }

  set(k: K, v: V): void {
    this.changes.set(k, v);
  }

  delete(k: K): void {
    this.changes.set(k, DELETED);
  }

  /** Keys set or deleted so far. */
  touched(): IterableIterator<K> {
    return this.changes.keys();
  }

  finish(): ReadonlyMap<K, V> {
    if (this.changes.size === 0) return this.base;
    return LayeredMap.edit(this.base, (m) => {
      for (const [k, v] of this.changes) {
        if (v === DELETED) m.delete(k);
        else m.set(k, v);
      }
    });
  }
}
