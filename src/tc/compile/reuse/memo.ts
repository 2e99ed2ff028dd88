// Named caches whose entries are reused while their inputs are the same objects, and numbers for
// objects (for cache names).

interface Entry<V> {
  inputs: readonly unknown[];
  value: V;
  used: boolean;
}

/** Numbers for objects, each the same for as long as the object lives (for cache names). */
export class ObjectIds {
  private readonly ids = new WeakMap<object, number>();
  private next = 1;

  /** The number of `o` (a bound function, to pass to `map`). */
  readonly of = (o: object): number => {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.next++));
    return id;
  };
}

/** Equal lists, element by element by identity (a cache entry's inputs). */
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
