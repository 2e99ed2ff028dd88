// Reads a Node's uplink-representors annotation (manifests mode, where there is no sysfs to ask):
// "p0" names the uplink of every PF; "0000:03:00.0=p0,0000:03:00.1=p1" names one per PF.

import { annotationPath, childPath } from './field-path.js';
import { canonicalPciAddress, isNetdevName } from './name-checks.js';
import { ANNOTATION } from './objects.js';
import type { Parsed } from './parsed.js';
import type { Problem } from './problem.js';

/** Key for the uplink used by every PF that has no entry of its own. */
export const ANY_PF = '*';

/** One "[PF-PCI=]netdev" item as [pf key, netdev], or what is wrong with it. */
function readItem(item: string, taken: Record<string, string>): [string, string] | string {
  const eq = item.indexOf('=');
  const pfText = eq < 0 ? '' : item.slice(0, eq).trim();
  const pf = eq < 0 ? ANY_PF : canonicalPciAddress(pfText);
  const netdev = item.slice(eq + 1).trim();
  if (!pf) return `"${pfText}" is not a PCI address`;
  if (!isNetdevName(netdev)) return `"${netdev}" is not an interface name`;
  if (pf in taken) return `${pf === ANY_PF ? 'the default uplink' : pf} is given twice`;
  return [pf, netdev];
}

export function parseUplinkRepresentors(
  text: string | undefined,
  object: string,
): Parsed<Record<string, string>> {
  const value: Record<string, string> = {};
  const problems: Problem[] = [];
  if (text === undefined) return { value, problems };
  const path = annotationPath(ANNOTATION.uplinkRepresentors);
  text.split(',').forEach((raw, i) => {
    const item = raw.trim();
    if (item === '') return;
    const r = readItem(item, value);
    if (typeof r === 'string') {
      problems.push({
        severity: 'error',
        object,
        path: childPath(path, i),
        message: r,
        effect: 'the entry is ignored',
      });
    } else {
      value[r[0]] = r[1];
    }
  });
  return { value, problems };
}
