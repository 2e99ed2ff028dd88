// Writes a large value as `JSON.stringify(value, null, 2) + '\n'` would, byte for byte, but piece by
// piece: the whole text (51 MB for a 5,000-pod node) and the whole value need not be in memory at
// once. A LazyArray stands for an array whose elements are built only as they are written.

/** An array written element by element, each built on demand (and dropped once written). */
export class LazyArray {
  constructor(
    readonly length: number,
    readonly at: (i: number) => unknown,
  ) {}
}

/** Containers below this depth are opened; deeper values are stringified whole. */
const OPEN_DEPTH = 3;

/** Flushed to the writer once this many characters are pending. */
const CHUNK_CHARS = 1 << 16;

type Plain = Record<string, unknown>;

function isPlainObject(v: unknown): v is Plain {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof LazyArray) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && typeof (v as Plain).toJSON !== 'function';
}

/** Values JSON.stringify leaves out of an object (and writes as null in an array). */
function isOmitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

/** The text of `value`, as JSON.stringify(value, null, 2) + '\n', in pieces. */
export function* jsonPieces(value: unknown): Generator<string> {
  yield* pieces(value, '', 0);
  yield '\n';
}

function* pieces(value: unknown, indent: string, depth: number): Generator<string> {
  const inner = indent + '  ';
  if (value instanceof LazyArray || (Array.isArray(value) && depth < OPEN_DEPTH)) {
    const length = value.length;
    if (length === 0) {
      yield '[]';
      return;
    }
    yield '[';
    for (let i = 0; i < length; i++) {
      const v = value instanceof LazyArray ? value.at(i) : (value as unknown[])[i];
      yield `${i > 0 ? ',' : ''}\n${inner}`;
      yield* pieces(isOmitted(v) ? null : v, inner, depth + 1);
    }
    yield `\n${indent}]`;
    return;
  }
  if (isPlainObject(value) && depth < OPEN_DEPTH) {
    const keys = Object.keys(value).filter((k) => !isOmitted(value[k]));
    if (keys.length === 0) {
      yield '{}';
      return;
    }
    yield '{';
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      yield `${i > 0 ? ',' : ''}\n${inner}${JSON.stringify(k)}: `;
      yield* pieces(value[k], inner, depth + 1);
    }
    yield `\n${indent}}`;
    return;
  }
  const text = JSON.stringify(value, null, 2);
  yield indent === '' ? text : text.replaceAll('\n', `\n${indent}`);
}

/** Writes the pieces to a stream in chunks, waiting for it to drain when it asks to. */
export async function writePieces(out: NodeJS.WritableStream, pieces: Iterable<string>): Promise<void> {
  let pending = '';
  const flush = async () => {
    const ok = out.write(pending);
    pending = '';
    if (!ok) await new Promise<void>((resolve) => out.once('drain', resolve));
  };
  for (const p of pieces) {
    pending += p;
    if (pending.length >= CHUNK_CHARS) await flush();
  }
  if (pending.length > 0) await flush();
}
