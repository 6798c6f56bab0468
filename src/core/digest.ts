/**
 * A digest of a core snapshot stream: FNV-1a over each value's low and high
 * 32-bit words. Two cores in the same state give the same digest.
 */
export function digestSnapshot(stream: Float64Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < stream.length; i++) {
    const x = stream[i];
    const lo = x >>> 0;
    const hi = Math.floor(x / 4294967296) >>> 0;
    h = Math.imul(h ^ lo, 0x01000193);
    h = Math.imul(h ^ hi, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}
