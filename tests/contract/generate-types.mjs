// openapi-typescript over the served document: `node generate-types.mjs IN.json OUT.d.ts`.
// The one deviation from the CLI's output: `format: binary` becomes `Blob` (the library's
// documented transform for uploads), so a multipart body is typed as the files a caller
// passes rather than as strings.
import { readFileSync, writeFileSync } from 'node:fs';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: node generate-types.mjs IN.json OUT.d.ts');

const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier('Blob'));
const ast = await openapiTS(JSON.parse(readFileSync(input, 'utf8')), {
  transform(schemaObject) {
    if (schemaObject.format === 'binary') return BLOB;
    return undefined;
  },
});
writeFileSync(output, astToString(ast));
console.log(`openapi-typescript: ${input} -> ${output}`);
