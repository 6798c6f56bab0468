/**
 * The parts' imports say what the parts are. This test parses every source
 * file of src/ and bench/ with the TypeScript compiler and fails on a
 * forbidden edge:
 *  - a policy (src/policy) imports neither the kernel layer (src/kvm) nor the
 *    checker (src/check): it is pure, fed plain views;
 *  - the checker (src/check) imports no live kernel object (src/kvm/objects,
 *    src/kvm/host) at runtime: it judges snapshots and recorded facts;
 *  - the reference model (src/core/reference) imports no engine (assembly/,
 *    src/core/engine, the embedded wasm): it is the engine's oracle;
 *  - only the CLI (src/cli) prints (console.*, process.stdout/stderr.write);
 *  - the public entry (src/index.ts) exports no internals (Host), and the
 *    public handles expose no `.obj` or `.host`.
 * Known exceptions, in files being reworked, are listed with the reason; an
 * entry that no longer matches anything fails too, so the list only shrinks.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const ROOT = resolve(new URL("..", import.meta.url).pathname);

/** Edges allowed for now: "file -> target" (or "file prints", "file exports NAME", "file exposes .NAME"), each with why. */
const ALLOWED: Record<string, string> = {
  "src/api/simulator.ts exposes .host": "Simulator.host is what gmemsim/check's checkInvariants and checkSecurity take; the handles' .obj is @internal",
  "bench/micro.ts prints": "the tinybench suites print their tables; the CLI's bench subcommand imports them as they are",
  "bench/scale.ts prints": "the scale run prints its table; the CLI's bench subcommand imports it as it is",
  "bench/workloads.ts prints": "the standard workloads print their table; the CLI's bench subcommand imports them as they are",
};

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return files(p);
    return /\.ts$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

interface Facts {
  /** Imported files (repo-relative, .ts), with whether only types are used. */
  imports: Array<{ target: string; typeOnly: boolean }>;
  prints: boolean;
  exports: string[];
  /** Public (not private, not #) members of exported classes. */
  members: string[];
}

/** What a file imports, whether it prints, what it exports, read from its syntax tree. */
export function readFacts(file: string, text = readFileSync(join(ROOT, file), "utf8")): Facts {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const facts: Facts = { imports: [], prints: false, exports: [], members: [] };
  const target = (spec: string) => (spec.startsWith(".") ? relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, ".ts") : spec);
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const c = n.importClause;
      const typeOnly = !!c && (c.isTypeOnly || (!c.name && !!c.namedBindings && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.every((e) => e.isTypeOnly)));
      facts.imports.push({ target: target(n.moduleSpecifier.text), typeOnly });
    } else if (ts.isExportDeclaration(n)) {
      if (n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) facts.imports.push({ target: target(n.moduleSpecifier.text), typeOnly: n.isTypeOnly });
      if (n.exportClause && ts.isNamedExports(n.exportClause)) for (const e of n.exportClause.elements) if (!e.isTypeOnly && !n.isTypeOnly) facts.exports.push(e.name.text);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) {
      facts.imports.push({ target: target(n.arguments[0].text), typeOnly: false });
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      facts.imports.push({ target: target(n.argument.literal.text), typeOnly: true });
    } else if (ts.isPropertyAccessExpression(n)) {
      const text = n.getText(sf);
      if (/^console\.\w+$/.test(text) || /^process\.(stdout|stderr)\.write$/.test(text)) facts.prints = true;
    } else if (ts.isClassDeclaration(n) && n.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
      // @internal members are stripped from the published types (tsconfig.build.json: stripInternal).
      const internal = (x: ts.Node) => ts.getJSDocTags(x).some((t) => t.tagName.text === "internal");
      for (const m of n.members) {
        const hidden = internal(m) || (ts.canHaveModifiers(m) && ts.getModifiers(m)?.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword));
        if (m.name && (ts.isIdentifier(m.name) || ts.isPrivateIdentifier(m.name)) && !hidden && !ts.isPrivateIdentifier(m.name)) facts.members.push(m.name.text);
        if (ts.isConstructorDeclaration(m))
          for (const p of m.parameters) {
            const mods = ts.getModifiers(p) ?? [];
            const isProp = mods.some((x) => x.kind === ts.SyntaxKind.PublicKeyword || x.kind === ts.SyntaxKind.ReadonlyKeyword);
            const hiddenP = internal(p) || mods.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword);
            if (isProp && !hiddenP && ts.isIdentifier(p.name)) facts.members.push(p.name.text);
          }
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return facts;
}

/** Every forbidden edge of one file, as the keys of ALLOWED word them. */
export function violations(file: string, f: Facts): string[] {
  const out: string[] = [];
  for (const { target, typeOnly } of f.imports) {
    const edge = `${file} -> ${target}`;
    if (file.startsWith("src/policy/") && (target.startsWith("src/kvm/") || target.startsWith("src/check/"))) out.push(edge);
    if (file.startsWith("src/check/") && !typeOnly && (target === "src/kvm/objects.ts" || target === "src/kvm/host.ts")) out.push(edge);
    if (file.startsWith("src/core/reference/") && (target.startsWith("assembly/") || target === "src/core/engine.ts" || target.startsWith("src/core/wasm-binary"))) out.push(edge);
  }
  if (f.prints && !file.startsWith("src/cli/")) out.push(`${file} prints`);
  if (file === "src/index.ts") for (const name of f.exports) if (name === "Host") out.push(`${file} exports ${name}`);
  if (file === "src/api/simulator.ts") for (const m of new Set(f.members)) if (m === "obj" || m === "host") out.push(`${file} exposes .${m}`);
  return out;
}

const ALL = [...files("src"), ...files("bench")].filter((f) => !f.includes("generated"));
const found = ALL.flatMap((file) => violations(file, readFacts(file)));

test("the layering holds: no forbidden import, print or export outside the listed exceptions", () => {
  const unexpected = found.filter((v) => !(v in ALLOWED));
  assert.equal(unexpected, [], `forbidden edges:\n  ${unexpected.join("\n  ")}`);
});

test("every listed exception still exists (the list only shrinks)", () => {
  const stale = Object.keys(ALLOWED).filter((k) => !found.includes(k));
  assert.equal(stale, [], `no longer needed, remove from ALLOWED:\n  ${stale.join("\n  ")}`);
});

test("a policy importing the kernel layer at runtime is caught", () => {
  const f = readFacts("src/policy/bad.ts", `import { Host } from "../kvm/host.js";\nexport const p = Host;`);
  assert.equal(violations("src/policy/bad.ts", f), ["src/policy/bad.ts -> src/kvm/host.ts"]);
});

test("the checker importing a live kernel object at runtime is caught, a type-only import is not", () => {
  const runtime = readFacts("src/check/bad.ts", `import { GmemFile } from "../kvm/objects.js";\nexport const x = GmemFile;`);
  assert.equal(violations("src/check/bad.ts", runtime), ["src/check/bad.ts -> src/kvm/objects.ts"]);
  const typeOnly = readFacts("src/check/ok.ts", `import type { Host } from "../kvm/host.js";\nimport { type GmemFile } from "../kvm/objects.js";\nexport type X = Host | GmemFile;`);
  assert.equal(violations("src/check/ok.ts", typeOnly), []);
});

test("the reference model importing the engine is caught", () => {
  const f = readFacts("src/core/reference/bad.ts", `import { EngineCore } from "../engine.js";\nexport const e = EngineCore;`);
  assert.equal(violations("src/core/reference/bad.ts", f), ["src/core/reference/bad.ts -> src/core/engine.ts"]);
});

test("printing outside the CLI is caught, inside it is not", () => {
  assert.equal(violations("src/kvm/bad.ts", readFacts("src/kvm/bad.ts", `export function f() { console.log("x"); }`)), ["src/kvm/bad.ts prints"]);
  assert.equal(violations("src/trace/bad.ts", readFacts("src/trace/bad.ts", `export function f() { process.stderr.write("x"); }`)), ["src/trace/bad.ts prints"]);
  assert.equal(violations("src/cli/ok.ts", readFacts("src/cli/ok.ts", `export function f() { console.log("x"); }`)), []);
});

test("the public entry exporting Host, or a handle exposing .obj, is caught", () => {
  assert.equal(violations("src/index.ts", readFacts("src/index.ts", `export { Host } from "./kvm/host.js";`)), ["src/index.ts exports Host"]);
  const handle = readFacts("src/api/simulator.ts", `export class Vm { constructor(readonly obj: number, private readonly secret: number) {} }`);
  assert.equal(violations("src/api/simulator.ts", handle), ["src/api/simulator.ts exposes .obj"]);
});

test.run();
