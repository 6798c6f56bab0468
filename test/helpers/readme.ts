/** The README's code blocks that tests run or type-check as they are written. */
import { readFileSync } from "node:fs";

export const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** The body of the `## TITLE` section, up to the next `## ` heading. */
export function readmeSection(title: string): string {
  const start = README.indexOf(`## ${title}`);
  if (start < 0) throw new Error(`README has no section "${title}"`);
  const end = README.indexOf("\n## ", start + 3);
  return README.slice(start, end < 0 ? undefined : end);
}

/** The fuzzing guide's ```ts blocks that use gmemsim/fuzz, verbatim. */
export function readmeFuzzExamples(): string[] {
  return [...readmeSection("Fuzzing a policy").matchAll(/```ts\n([\s\S]*?)\n```/g)].map((m) => m[1]).filter((code) => code.includes('from "gmemsim/fuzz"'));
}
