import { expect } from 'chai';
import { nadPluginType } from '../../../src/cluster/nad-plugin-type.js';

const NAD = 'NetworkAttachmentDefinition app/n';

describe('nadPluginType', () => {
  it('reads type of a single-plugin config', () => {
    expect(nadPluginType('{"cniVersion":"0.3.1","type":"accelerated-bridge"}', NAD)).to.deep.equal({
      value: 'accelerated-bridge',
      problems: [],
    });
  });

  it('reads the first plugin of a conflist', () => {
    const conf = JSON.stringify({ name: 'n', plugins: [{ type: 'macvlan' }, { type: 'tuning' }] });
    expect(nadPluginType(conf, NAD).value).to.equal('macvlan');
  });

  it('reports invalid or typeless configs', () => {
    for (const [config, words] of [
      ['{"type":', 'not valid JSON'],
      ['[1]', 'JSON object'],
      ['{"name":"x"}', 'no "type"'],
      ['{"plugins":[]}', 'plugins[0]'],
      ['', 'empty'],
      [undefined, 'empty'],
      [5, 'JSON string'],
    ] as [unknown, string][]) {
      const r = nadPluginType(config, NAD);
      expect(r.value, String(config)).to.equal(undefined);
      expect(r.problems).to.have.length(1);
      expect(r.problems[0]?.message).to.contain(words);
      expect(r.problems[0]).to.include({
        object: NAD,
        path: 'spec.config',
        effect: 'the network is left unmanaged',
      });
    }
  });
});
