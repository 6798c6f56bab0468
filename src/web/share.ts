/**
 * The playground's state in the URL's fragment: the trace (deflated, base64url)
 * and the choices, so that a link reproduces what its author saw. The fragment
 * never reaches a server.
 */
import { deflateSync, inflateSync, strFromU8, strToU8 } from "fflate";

export interface Shared {
  trace: string;
  engine?: string;
  kernel?: string;
  design?: string;
  /** "default", "shipped:NAME" or "pasted". */
  policy?: string;
  pasted?: string;
  step?: number;
}

const b64url = (u8: Uint8Array) => {
  let s = "";
  for (let k = 0; k < u8.length; k += 0x8000) s += String.fromCharCode(...u8.subarray(k, k + 0x8000));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};
const unb64url = (s: string) => {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  const u8 = new Uint8Array(bin.length);
  for (let k = 0; k < bin.length; k++) u8[k] = bin.charCodeAt(k);
  return u8;
};
const pack = (text: string) => b64url(deflateSync(strToU8(text), { level: 9 }));
const unpack = (s: string) => strFromU8(inflateSync(unb64url(s)));

export function encodeShared(s: Shared): string {
  const p = new URLSearchParams();
  p.set("t", pack(s.trace));
  for (const k of ["engine", "kernel", "design", "policy"] as const) if (s[k]) p.set(k, s[k]!);
  if (s.pasted) p.set("pasted", pack(s.pasted));
  if (s.step !== undefined && s.step >= 0) p.set("step", String(s.step));
  return "#" + p.toString();
}

/** The shared state in a fragment, or null when there is none; throws on a damaged one. */
export function decodeShared(hash: string): Shared | null {
  const p = new URLSearchParams(hash.replace(/^#/, ""));
  const t = p.get("t");
  if (!t) return null;
  const s: Shared = { trace: unpack(t) };
  for (const k of ["engine", "kernel", "design", "policy"] as const) {
    const v = p.get(k);
    if (v) s[k] = v;
  }
  const pasted = p.get("pasted");
  if (pasted) s.pasted = unpack(pasted);
  const step = p.get("step");
  if (step && /^\d+$/.test(step)) s.step = Number(step);
  return s;
}
