/**
 * Command words (doubles, core-abi.ts) to integers, without the range checks
 * and fix-ups V8 emits for a saturating truncation (a round trip through an
 * integer register and a compare per word): adding 2^52 to a double in
 * [0, 2^52) leaves its integer in the low bits of the sum's mantissa, read
 * back by reinterpretation. Words are integers (core-abi.ts: every integer
 * argument is exact in a double), so nothing is rounded that was not already
 * whole.
 */

const TWO52: f64 = 4503599627370496; // 2^52
const TWO52_BITS: u64 = 0x4330000000000000; // its bits
/** 1.5 * 2^52: the same for a word in (-2^51, 2^51), its two's complement in the low bits. */
const MAGIC: f64 = 6755399441055744;

/** A word holding an i32 or u32 (its low 32 bits: ids, -1, flags, bytes). */
@inline export function wordI32(x: f64): i32 {
  return <i32>reinterpret<u64>(x + MAGIC);
}

/** A word holding a u64: below 2^52 by the sum, above by the conversion (<u64>: a negative word is 0). */
@inline export function wordU64(x: f64): u64 {
  return reinterpret<u64>(x) < TWO52_BITS ? reinterpret<u64>(x + TWO52) - TWO52_BITS : <u64>x;
}

/**
 * x as an integer index below `below` (at most 2^52), or -1 when x is not
 * an integer in [0, below): NaN, infinities, negatives, fractions and
 * anything from 2^52 up all fail one of the two compares.
 */
@inline export function wordIndex(x: f64, below: u64): i64 {
  let t = x + TWO52;
  let i = reinterpret<u64>(t) - TWO52_BITS;
  return (t - TWO52 == x) & (i < below) ? <i64>i : -1;
}

/** The largest `below` wordIndex() takes. */
export const INDEX_LIMIT: u64 = 1 << 52;
