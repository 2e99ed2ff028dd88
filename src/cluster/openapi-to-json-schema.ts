// Converts a CRD's openAPIV3Schema into a JSON Schema that ajv compiles. The two dialects differ
// only in Kubernetes extensions: int-or-string becomes anyOf integer/string, nullable becomes a
// "null" type, other x-kubernetes-* keys and formats (ajv does not know int32) are dropped.

type SchemaNode = Record<string, unknown>;

export interface ConvertOptions {
  /**
   * Close every object that lists its properties (additionalProperties: false), to find the
   * fields the API server would prune. Off for the validator that decides validity.
   */
  closeObjects?: boolean;
}

function isNode(v: unknown): v is SchemaNode {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function convertValue(v: unknown, opts: ConvertOptions): unknown {
  if (Array.isArray(v)) return v.map((x) => convertValue(x, opts));
  return isNode(v) ? openApiToJsonSchema(v, opts) : v;
}

export function openApiToJsonSchema(node: SchemaNode, opts: ConvertOptions = {}): SchemaNode {
  if (node['x-kubernetes-int-or-string'] === true) {
    return { anyOf: [{ type: 'integer' }, { type: 'string' }] };
  }
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-kubernetes-') || key === 'nullable' || key === 'format') continue;
    if (key === 'properties' && isNode(value)) {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, convertValue(sub, opts)]),
      );
      continue;
    }
    out[key] = convertValue(value, opts);
  }
  if (node.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  const preserveUnknown = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (opts.closeObjects && isNode(out.properties) && !('additionalProperties' in out) && !preserveUnknown) {
    out.additionalProperties = false;
  }
  return out;
}
