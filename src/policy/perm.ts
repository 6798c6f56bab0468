/**
 * A gmem file's permissions, the words policies decide in (the 2023 design, an
 * extension of upstream): guest mapping rights r, w, x, and fallocate rights
 * alloc and punch. The kernel layer holds them per file (src/kvm/perm.ts).
 */
export type Perm = "r" | "w" | "x" | "alloc" | "punch";
