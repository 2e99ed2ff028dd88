// Defensive field readers for raw objects that may not match their types (manifests are
// hand-written). Schema problems are reported by validateObject; these only avoid crashing on them.

export function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** The string-valued entries of a map (labels, annotations); anything else is dropped. */
export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(asRecord(v) ?? {})) if (typeof val === 'string') out[k] = val;
  return out;
}

export function stringField(o: unknown, key: string): string | undefined {
  const v = asRecord(o)?.[key];
  return typeof v === 'string' ? v : undefined;
}

export function arrayField(o: unknown, key: string): unknown[] {
  const v = asRecord(o)?.[key];
  return Array.isArray(v) ? v : [];
}
