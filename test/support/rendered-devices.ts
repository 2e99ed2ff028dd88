// The device names `render` gives a node of a manifests directory (real CLI), for the tests that
// run the agent against stand-in tools holding exactly those devices.

import { execa } from 'execa';

export async function renderedDevices(manifests: string, node: string): Promise<string[]> {
  const rendered = await execa('node', [
    'build/src/cli/main.js',
    'render',
    '--manifests',
    manifests,
    '--hostname-override',
    node,
    '--format',
    'json',
  ]);
  return (JSON.parse(rendered.stdout) as { devices: { name: string }[] }).devices.map((d) => d.name);
}
