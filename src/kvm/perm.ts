/**
 * Permissions of a gmem file (the 2023 design, an extension of upstream): guest
 * mapping rights r, w, x, and fallocate rights alloc and punch. The file made by
 * create_guest_memfd (the owner) holds all five.
 */
import * as A from "../abi/core-abi.js";
import type { Perm } from "../policy/perm.js";

// The vocabulary is the policy's (src/policy/perm.ts): the kernel layer holds what a policy decides in it.
export type { Perm };
export const ALL_PERMS: readonly Perm[] = ["r", "w", "x", "alloc", "punch"];

export function isPerm(p: unknown): p is Perm {
  return typeof p === "string" && (ALL_PERMS as readonly string[]).includes(p);
}

/** The guest rights (RIGHT_*) a permission set grants. */
export function guestRights(perm: ReadonlySet<Perm>): number {
  return (perm.has("r") ? A.RIGHT_R : 0) | (perm.has("w") ? A.RIGHT_W : 0) | (perm.has("x") ? A.RIGHT_X : 0);
}

export function permList(perm: ReadonlySet<Perm>): Perm[] {
  return ALL_PERMS.filter((p) => perm.has(p));
}
