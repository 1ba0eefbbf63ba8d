// Parse an AsyncAPI document with @asyncapi/parser and fail on any error or warning.
// The parser has no JSON Schema 2020-12 payload parser; the payloads are the files that
// tests/unit/test_schema*.py validate, so a pass-through parser is registered for that format.
import { Parser, fromFile } from '@asyncapi/parser';

const FORMAT = 'application/schema+json;version=draft-2020-12';
const passthrough = {
  validate: async () => [],
  parse: async (input) => input.data,
  getMimeTypes: () => [FORMAT],
};
// Spectral severities: 0 error, 1 warning, 2 information, 3 hint.
const SEVERITY = ['error', 'warning', 'information', 'hint'];

const parser = new Parser({ schemaParsers: [passthrough] });
const { document, diagnostics } = await fromFile(parser, process.argv[2]).parse();
let failed = document === undefined;
for (const diagnostic of diagnostics) {
  console.log(`${SEVERITY[diagnostic.severity]} ${diagnostic.code}: ${diagnostic.message} at /${diagnostic.path.join('/')}`);
  failed ||= diagnostic.severity <= 1;
}
console.log(failed ? `${process.argv[2]}: not valid` : `${process.argv[2]}: valid AsyncAPI`);
process.exit(failed ? 1 : 0);
