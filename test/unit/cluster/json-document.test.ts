import { expect } from 'chai';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { parseJsonDocument } from '../../../src/cluster/json-document.js';

/** What the YAML reader gives for a one-document text (undefined: it reports an error). */
function viaYaml(text: string): unknown {
  const docs = parseAllDocuments(text);
  expect(docs).to.have.length(1);
  return docs[0]!.errors.length > 0 ? undefined : docs[0]!.toJS();
}

describe('parseJsonDocument (the JSON fast path of the manifests reader)', () => {
  it('gives what the YAML reader gives for any JSON object or array, compact or indented', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.array(fc.jsonValue())),
        fc.boolean(),
        (value, pretty) => {
          const text = JSON.stringify(value, null, pretty ? 2 : undefined);
          const fast = parseJsonDocument(text);
          // A "__proto__" key is left to the YAML reader; everything else is taken.
          if (!text.includes('"__proto__"')) expect(fast).to.not.equal(undefined);
          if (fast) expect(fast.value).to.deep.equal(viaYaml(text));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('leaves a repeated key, at any depth, to the YAML reader (which reports it)', () => {
    for (const text of ['{"a":1,"a":2}', '{"x":{"k":"v:\\"","k":"w"}}', '[{"b":[1,{"c":1,"c":1}]}]']) {
      expect(parseJsonDocument(text), text).to.equal(undefined);
      expect(viaYaml(text), text).to.equal(undefined);
    }
  });

  it('counts colons inside strings (escaped quotes, backslashes) as text, not as members', () => {
    const text = '{"a:b":"c:\\\\","d":"\\"e:f\\":","g":["h:","i"]}';
    expect(parseJsonDocument(text)?.value).to.deep.equal(JSON.parse(text));
  });

  it('leaves YAML, broken JSON, scalars, empty text and deep nesting to the YAML reader', () => {
    const deep = '['.repeat(100) + ']'.repeat(100);
    for (const text of ['a: 1\n', '{"a": 1', '"s"', '42', '', '   \n', 'null', deep, '{"a":1}\n---\n{}'])
      expect(parseJsonDocument(text), text.slice(0, 20)).to.equal(undefined);
  });

  it('takes a JSON text with a trailing newline or leading blanks', () => {
    expect(parseJsonDocument('\n  {"kind": "Pod"}\n')?.value).to.deep.equal({ kind: 'Pod' });
  });
});
