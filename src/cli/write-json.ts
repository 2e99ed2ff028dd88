// Writes a large value as `JSON.stringify(value, null, 2) + '\n'` would, byte for byte, but piece by
// piece: the whole text (51 MB for a 5,000-pod node) and the whole value need not be in memory at
// once. A LazyArray stands for an array whose elements are built only as they are written,
// LazyEntries for an object whose members are, and Deferred for a value computed when reached.

/** An array written element by element, each built on demand (and dropped once written). */
export class LazyArray {
  constructor(
    readonly length: number,
    readonly at: (i: number) => unknown,
  ) {}
}

/** An object written member by member, as the iterable gives them. */
export class LazyEntries {
  constructor(readonly entries: Iterable<readonly [string, unknown]>) {}
}

/** A value computed when the writer reaches it (undefined: the member is left out). */
export class Deferred {
  constructor(readonly get: () => unknown) {}
}

/** Among the pieces: write what is pending now (the next piece may take long to compute). */
export const FLUSH: unique symbol = Symbol('flush');
export type Piece = string | typeof FLUSH;

/** Containers below this depth are opened; deeper values are stringified whole. */
const OPEN_DEPTH = 3;

/** Flushed to the writer once this many characters are pending. */
const CHUNK_CHARS = 1 << 16;

type Plain = Record<string, unknown>;

function isPlainObject(v: unknown): v is Plain {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  if (v instanceof LazyArray || v instanceof LazyEntries || v instanceof Deferred) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && typeof (v as Plain).toJSON !== 'function';
}

/** Values JSON.stringify leaves out of an object (and writes as null in an array). */
function isOmitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

/** The text of `value`, as JSON.stringify(value, null, 2) + '\n', in pieces. */
export function* jsonPieces(value: unknown): Generator<Piece> {
  yield* pieces(value, '', 0);
  yield '\n';
}

function* pieces(value: unknown, indent: string, depth: number): Generator<Piece> {
  if (value instanceof Deferred) value = value.get();
  const inner = indent + '  ';
  if (value instanceof LazyArray || (Array.isArray(value) && depth < OPEN_DEPTH)) {
    const length = value.length;
    if (length === 0) {
      yield '[]';
      return;
    }
    yield '[';
    for (let i = 0; i < length; i++) {
      let v = value instanceof LazyArray ? value.at(i) : (value as unknown[])[i];
      if (v instanceof Deferred) v = v.get();
      yield `${i > 0 ? ',' : ''}\n${inner}`;
      yield* pieces(isOmitted(v) ? null : v, inner, depth + 1);
      if (value instanceof LazyArray) yield FLUSH;
    }
    yield `\n${indent}]`;
    return;
  }
  if (value instanceof LazyEntries || (isPlainObject(value) && depth < OPEN_DEPTH)) {
    const entries = value instanceof LazyEntries ? value.entries : Object.entries(value);
    let written = 0;
    for (const [k, raw] of entries) {
      const v = raw instanceof Deferred ? raw.get() : raw;
      if (isOmitted(v)) continue;
      yield `${written++ > 0 ? ',' : '{'}\n${inner}${JSON.stringify(k)}: `;
      yield* pieces(v, inner, depth + 1);
      if (value instanceof LazyEntries) yield FLUSH;
    }
    yield written > 0 ? `\n${indent}}` : '{}';
    return;
  }
  const text = JSON.stringify(value, null, 2);
  yield indent === '' ? text : text.replaceAll('\n', `\n${indent}`);
}

/** Writes the pieces to a stream in chunks, waiting for it to drain when it asks to. */
export async function writePieces(out: NodeJS.WritableStream, pieces: Iterable<Piece>): Promise<void> {
  let pending = '';
  const flush = async () => {
    const ok = out.write(pending);
    pending = '';
    if (!ok) await new Promise<void>((resolve) => out.once('drain', resolve));
  };
  for (const p of pieces) {
    if (p === FLUSH) {
      if (pending.length > 0) await flush();
      continue;
    }
    pending += p;
    if (pending.length >= CHUNK_CHARS) await flush();
  }
  if (pending.length > 0) await flush();
}
