// The CNI plugin type of a NetworkAttachmentDefinition: "type" of a single-plugin config, or the
// first plugin's type of a conflist (the main plugin; the rest are chained meta-plugins).

import { EFFECT } from './effects.js';
import type { Parsed } from './parsed.js';

const PATH = 'spec.config';

export function nadPluginType(config: unknown, object: string): Parsed<string | undefined> {
  const fail = (message: string): Parsed<string | undefined> => ({
    value: undefined,
    problems: [{ severity: 'error', object, path: PATH, message, effect: EFFECT.networkUnmanaged }],
  });
  if (config === undefined || config === '') {
    return fail('is empty (the CNI config lives on the nodes), so the plugin type is unknown');
  }
  if (typeof config !== 'string') return fail('must be a JSON string');
  let data: unknown;
  try {
    data = JSON.parse(config);
  } catch (e) {
    return fail(`is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail('must be a JSON object');
  const conf = data as { type?: unknown; plugins?: unknown };
  const type = Array.isArray(conf.plugins)
    ? (conf.plugins[0] as { type?: unknown } | undefined)?.type
    : conf.type;
  if (typeof type !== 'string' || type === '') {
    return fail(Array.isArray(conf.plugins) ? 'plugins[0] has no "type"' : 'has no "type"');
  }
  return { value: type, problems: [] };
}
