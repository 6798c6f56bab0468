/**
 * TypeScript policies: a .ts/.mts/.cts policy module is bundled on the fly by
 * esbuild (the bundler the project builds with; an optional peer dependency of
 * the package) into one ES module, which is then imported like a .mjs policy.
 * Bundling inlines the policy's own relative imports; type-only imports (of
 * "gmemsim/policy", say) vanish. Types are not checked here: run tsc for that.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

export const TS_POLICY = /\.(ts|mts|cts)$/;

/** Imports a TypeScript policy module; the error says exactly what to do when esbuild is missing. */
export async function importTsPolicy(file: string): Promise<Record<string, unknown>> {
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch {
    throw new Error(
      `${file} is TypeScript, which gmemsim compiles with esbuild, and esbuild is not installed here: install it beside gmemsim (npm install --save-dev esbuild), or compile the policy to JavaScript yourself (npx tsc --module nodenext --target es2022 ${file}) and pass the .js file`,
    );
  }
  let code: string;
  try {
    const out = await esbuild.build({ entryPoints: [resolve(file)], bundle: true, format: "esm", platform: "node", target: "node20", write: false, logLevel: "silent", packages: "external" });
    code = out.outputFiles[0].text;
  } catch (e) {
    const errors = (e as { errors?: Array<{ text: string; location?: { line: number; column: number } | null }> }).errors;
    const first = errors?.[0];
    throw new Error(`${file} does not compile: ${first ? `${first.text}${first.location ? ` (line ${first.location.line}, column ${first.location.column + 1})` : ""}` : (e as Error).message}`);
  }
  // Written beside nothing of the user's: a private temporary directory, removed once imported.
  const dir = mkdtempSync(join(tmpdir(), "gmemsim-policy-"));
  try {
    const out = join(dir, "policy.mjs");
    writeFileSync(out, code);
    return (await import(pathToFileURL(out).href)) as Record<string, unknown>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
