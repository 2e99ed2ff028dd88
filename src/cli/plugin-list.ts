// --network-plugins: the CNI plugin types to enforce. Apart from load.ts (the manifests reader) so
// that the agent path of the CLI reads it without loading the manifests reader.

export function parsePluginList(v: string | string[] | undefined): string[] {
  const items = (Array.isArray(v) ? v : [v ?? 'accelerated-bridge']).flatMap((s) => s.split(','));
  return items.map((s) => s.trim()).filter((s) => s.length > 0);
}
