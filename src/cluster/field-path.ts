// Field paths in the style Problems use: spec.ingress[0].ports[1].port, with keys that are not
// identifiers quoted: metadata.annotations["k8s.v1.cni.cncf.io/networks"].

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** Appends one object key or array index to a field path. */
export function childPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (IDENTIFIER.test(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}

/** Converts a JSON Pointer (ajv's instancePath, "/spec/ingress/0") to a field path ("spec.ingress[0]"). */
export function pointerToFieldPath(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<string>((path, seg) => childPath(path, /^(0|[1-9][0-9]*)$/.test(seg) ? Number(seg) : seg), '');
}

/** Path of one annotation, e.g. metadata.annotations["k8s.v1.cni.cncf.io/network-status"]. */
export function annotationPath(key: string): string {
  return childPath('metadata.annotations', key);
}
