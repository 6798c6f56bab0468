/**
 * 64-bit byte quantities at the uAPI edge, split once into whole pages and a
 * remainder, so that every rule can be written once in plain numbers: a page
 * count of a 64-bit byte value is below 2^52 and exact in a double, whether the
 * caller passed a number or a bigint. Only values past 2^53 pay for BigInt.
 */

export type Bytes = number | bigint;

export interface Split {
  /** The value was negative (as a signed 64-bit quantity). */
  neg: boolean;
  /** floor(|value| / 4096). */
  pages: number;
  /** |value| mod 4096. */
  rem: number;
}

const scratch = (): Split => ({ neg: false, pages: 0, rem: 0 });

/** Splits a signed 64-bit byte value (loff_t); writes into `out` to spare an allocation. */
export function splitBytes(x: Bytes, out: Split = scratch()): Split {
  if (typeof x === "number" && Number.isSafeInteger(x)) {
    const a = x < 0 ? -x : x;
    out.neg = x < 0;
    const pages = Math.floor(a / 4096);
    out.pages = pages;
    // Exact below 2^53, where % on a double past 2^31 is a call to fmod.
    out.rem = a - pages * 4096;
    return out;
  }
  let b = BigInt.asIntN(64, BigInt(x));
  out.neg = b < 0n;
  if (b < 0n) b = -b;
  out.pages = Number(b >> 12n);
  out.rem = Number(b & 4095n);
  return out;
}

/** The byte value back, for messages. */
export function bytesText(x: Bytes): string {
  return typeof x === "bigint" ? BigInt.asIntN(64, x).toString() : String(x);
}
