// The fast path for a manifest file that is one plain JSON document (every `.json` file, and a
// YAML file written as JSON): JSON.parse is some 20 times faster than the YAML reader and keeps
// no syntax tree. JSON is YAML 1.2, so the YAML reader would give the same value, except where
// JSON.parse is laxer: a repeated key (YAML: an error, the document is ignored; JSON.parse: the
// last one wins). Such a text, and anything JSON.parse refuses, is left to the YAML reader, which
// then reports it exactly as before.

/** A JSON text with no key repeated in one object, or undefined: let the YAML reader decide. */
export function parseJsonDocument(text: string): { value: unknown } | undefined {
  const first = firstNonBlank(text);
  if (first !== 0x7b /* { */ && first !== 0x5b /* [ */) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  // Each member of each object has exactly one ":" outside strings in the text; fewer members in
  // the value means some key was repeated.
  const members = countMembers(value);
  if (members === undefined || members !== countColons(text)) return undefined;
  return { value };
}

function firstNonBlank(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
  }
  return -1;
}

/** Colons outside string literals (valid JSON: in a string, `"` is preceded by `\` only as an escape). */
function countColons(text: string): number {
  let n = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x3a /* : */) n++;
  }
  return n;
}

/** Deeper values are left to the YAML reader, which judges nesting as it always has. */
const MAX_DEPTH = 64;

/**
 * Object members in a parsed value, without recursion (JSON.parse reads nesting deeper than the
 * stack). undefined for a `__proto__` key or nesting deeper than MAX_DEPTH.
 */
function countMembers(value: unknown): number | undefined {
  let n = 0;
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { v, depth } = top;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_DEPTH) return undefined;
    if (Array.isArray(v)) {
      for (const x of v) stack.push({ v: x, depth: depth + 1 });
      continue;
    }
    for (const key in v) {
      if (key === '__proto__') return undefined;
      n++;
      stack.push({ v: (v as Record<string, unknown>)[key], depth: depth + 1 });
    }
  }
  return n;
}
