// Type declarations for the library build (dist/lib/tabscout.d.ts): the TypeScript compiler's declaration emit for
// lib/tabscout.ts, without a second type check (`npm run typecheck` does that). The public declarations must stand
// alone (lib/types.ts imports nothing): only lib/'s are written, and one that reaches outside lib/ fails the build.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

export function emitDeclarations(entry: string, outDir: string): void {
  const root = join(dirname(entry), '..');
  const configPath = join(root, 'lib', 'tsconfig.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, join(root, 'lib'));
  const typesDir = join(outDir, 'types');
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    noCheck: true,
    composite: false,
    incremental: false,
    outDir: undefined,
    declarationDir: typesDir,
    rootDir: root,
    sourceMap: false,
    declarationMap: false,
  };
  const program = ts.createProgram([entry, join(root, 'lib/vite-env.d.ts')], options);
  // Emit in memory, then write the declarations reachable from the entry's (the public ones).
  const emitted = new Map<string, string>();
  const result = program.emit(undefined, (file, text) => emitted.set(file, text));
  const entryDeclaration = join(typesDir, relative(root, entry)).replace(/\.ts$/, '.d.ts');
  const pending = [entryDeclaration];
  const seen = new Set<string>();
  while (pending.length) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = emitted.get(file);
    if (text === undefined) throw new Error(`declarations: ${file} was not emitted`);
    for (const [, specifier] of text.matchAll(/(?:from |import\()['"](\.[^'"]+)['"]/g)) {
      if (specifier.startsWith('../')) throw new Error(`declarations: ${relative(typesDir, file)} refers to ${specifier}, outside lib/ (public types must stand alone)`);
      pending.push(join(dirname(file), specifier.replace(/\.(ts|js)$/, '.d.ts')));
    }
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  const errors = result.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) throw new Error(`declarations: ${ts.formatDiagnostics(errors, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' })}`);
  const main = relative(outDir, join(typesDir, relative(root, entry))).replace(/\.ts$/, '.js').split('\\').join('/');
  writeFileSync(join(outDir, 'tabscout.d.ts'), `// Types of tabscout.js (docs/API.md).\nexport * from './${main}';\n`);
}
