/**
 * Result words of one command (core-abi.ts: code, value, aux, aux2, aux3).
 * Every word is written for every command, so a result never shows a stale
 * word from an earlier batch.
 */
@inline export function put(r: usize, code: i32, value: f64 = 0, aux: f64 = 0, aux2: f64 = 0, aux3: f64 = 0): void {
  store<f64>(r, <f64>code);
  store<f64>(r, value, 8);
  store<f64>(r, aux, 16);
  store<f64>(r, aux2, 24);
  store<f64>(r, aux3, 32);
}
