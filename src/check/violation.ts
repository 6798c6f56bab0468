/**
 * What the checkers return: the rule broken and a sentence about it in which
 * objects appear as ids (`@vm:1`, `@file:3`, `@inode:2`, `@map:0`), so that
 * the checkers never need names; whoever reports the violation renders it,
 * with the names its trace bound where it knows them.
 */

export interface Violation {
  /** The rule, as its number and name: "2 owner control", "1 no stale mapping", "policy property NAME". */
  readonly rule: string;
  /** The sentence, with object ids as @kind:id. */
  readonly text: string;
}

export type ObjectKind = "vm" | "file" | "inode" | "map";

/** Names for objects by id; undefined falls back to "kind id". */
export type Namer = (kind: ObjectKind, id: number) => string | undefined;

export const violation = (rule: string, text: string): Violation => ({ rule, text: `${rule}: ${text}` });

/** The sentence with every @kind:id replaced by the namer's name, or "kind id". */
export function render(v: Violation, namer?: Namer): string {
  return v.text.replace(/@(vm|file|inode|map):(\d+)/g, (_m, kind: ObjectKind, id: string) => namer?.(kind, Number(id)) ?? `${kind} ${id}`);
}
