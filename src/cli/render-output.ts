// `render`'s output, written as it is produced: the tc text, or the JSON device by device (the JSON
// of a 5,000-pod node is 51 MB of text over some 73,000 filter objects).

import type { NodePipeline } from '../tc/ir.js';
import { renderNodeJson } from '../tc/render/render-json.js';
import { renderNodeTc } from '../tc/render/render-tc.js';
import { jsonPieces, LazyArray, writePieces } from './write-json.js';

/**
 * renderNodeJson's value with its `devices` built one at a time as they are written. Each
 * device's JSON depends on that device only, so rendering a one-device pipeline gives it.
 */
function lazyNodeJson(pipeline: NodePipeline, ctZone: number): unknown {
  const head = renderNodeJson({ ...pipeline, devices: [] }, ctZone) as Record<string, unknown>;
  if (!Array.isArray(head.devices)) return renderNodeJson(pipeline, ctZone);
  const device = (i: number): unknown => {
    const one = renderNodeJson({ ...pipeline, devices: [pipeline.devices[i]!] }, ctZone) as {
      devices: unknown[];
    };
    return one.devices[0];
  };
  return { ...head, devices: new LazyArray(pipeline.devices.length, device) };
}

export async function writeRender(
  out: NodeJS.WritableStream,
  pipeline: NodePipeline,
  format: 'tc' | 'json',
  ctZone: number,
): Promise<void> {
  if (format === 'json') await writePieces(out, jsonPieces(lazyNodeJson(pipeline, ctZone)));
  else await writePieces(out, [renderNodeTc(pipeline, ctZone)]);
}
