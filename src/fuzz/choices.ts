/**
 * Cheap arbitraries for trace ops: a value described by a small spec (a pick
 * from a list, an integer range, a weighted choice of specs, a record of
 * specs, a mapping) is drawn as a flat list of integer choices, one per
 * decision, and built from them. One fast-check Value per op instead of one
 * per field and combinator: generating an op costs a few random draws and the
 * op object, which matters when every op of a fuzzing run is generated.
 *
 * The draws follow fast-check's own distributions where it has them: an
 * integer range is biased towards its ends as fc.integer is (the bias factor
 * fast-check passes in), a weighted choice is fc.oneof's, an optional record
 * field is absent one time in six as with fc.option, a pick is uniform as
 * fc.constantFrom, a subarray is fc.subarray's (a length, then that many
 * distinct elements).
 *
 * Shrinking works on the choices (as Hypothesis does): each choice in turn is
 * moved towards 0 (the list's first value, the range's minimum, the first
 * branch, an optional field left out, a subarray element left out), and the
 * value is rebuilt from the shorter choices; a choice of branch re-reads the
 * choices after it. fast-check drives it as for any arbitrary, so a failing
 * trace shrinks op by op and field by field.
 */
import fc from "fast-check";

export type Spec =
  | { readonly kind: "lit"; readonly value: unknown }
  | { readonly kind: "pick"; readonly values: readonly unknown[] }
  | { readonly kind: "int"; readonly min: number; readonly max: number; readonly low: number; readonly high: number }
  | { readonly kind: "one"; readonly upTo: readonly number[]; readonly total: number; readonly specs: readonly Spec[] }
  | { readonly kind: "rec"; readonly keys: readonly string[]; readonly specs: readonly Spec[]; readonly optional: readonly boolean[] }
  | { readonly kind: "sub"; readonly values: readonly unknown[] }
  | { readonly kind: "map"; readonly spec: Spec; readonly f: (x: never) => unknown };

export const lit = (value: unknown): Spec => ({ kind: "lit", value });
export const pick = (...values: unknown[]): Spec => ({ kind: "pick", values });
/** Integers in [min, max] (min >= 0); fc.integer's bias draws from [min, min + log2(max - min)] or the same next to max. */
export function int(min: number, max: number): Spec {
  const gap = max > min ? Math.floor(Math.log(max - min) / Math.log(2)) : 0;
  return { kind: "int", min, max, low: min + gap, high: max - gap };
}
/** A weighted choice of specs, [weight, spec] pairs (fc.oneof's weights). */
export function one(...branches: Array<[number, Spec]>): Spec {
  // Each branch's cumulative weight: a branch is found by binary search.
  const upTo: number[] = [];
  let total = 0;
  for (const [w] of branches) upTo.push((total += w));
  return { kind: "one", upTo, total, specs: branches.map(([, s]) => s) };
}
/** A record; keys listed in `optional` are left out one time in six (as fc.record without them in requiredKeys). */
export function rec(fields: Record<string, Spec>, optional: readonly string[] = []): Spec {
  const keys = Object.keys(fields);
  return { kind: "rec", keys, specs: keys.map((k) => fields[k]), optional: keys.map((k) => optional.includes(k)) };
}
/** A subarray of `values`, in their order: each kept with even odds. */
export const sub = (...values: unknown[]): Spec => ({ kind: "sub", values });
export const map = <T>(spec: Spec, f: (x: T) => unknown): Spec => ({ kind: "map", spec, f: f as (x: never) => unknown });

/** Where choices come from: fresh random draws (recorded), or a recorded list (missing ones read as 0). */
interface Source {
  /** A choice in [0, n). */
  choose(n: number): number;
  /** An integer of spec s, as its offset from s.min. */
  integer(s: Extract<Spec, { kind: "int" }>): number;
  /** Which of n elements a subarray keeps: one choice per element, 1 to keep it. */
  subset(n: number): number[];
  readonly out: number[];
}

class Draw implements Source {
  readonly out: number[] = [];
  constructor(
    private readonly mrng: fc.Random,
    private readonly bias: number | undefined,
  ) {}

  choose(n: number): number {
    const c = n > 1 ? this.mrng.nextInt(0, n - 1) : 0;
    this.out.push(c);
    return c;
  }

  integer(s: Extract<Spec, { kind: "int" }>): number {
    let v: number;
    // fc.integer: with the bias factor b, one draw in b comes from next to an end, the minimum's twice as often.
    if (this.bias === undefined || this.mrng.nextInt(1, this.bias) !== 1) v = this.mrng.nextInt(s.min, s.max);
    else v = this.mrng.nextInt(-2, 0) < 0 ? this.mrng.nextInt(s.min, s.low) : this.mrng.nextInt(s.high, s.max);
    this.out.push(v - s.min);
    return v - s.min;
  }

  subset(n: number): number[] {
    // fc.subarray: a length (with the bias factor b, one draw in b from [0, log2 n]), then that many distinct elements.
    const size = this.bias !== undefined && this.mrng.nextInt(1, this.bias) === 1 ? this.mrng.nextInt(0, Math.floor(Math.log(n) / Math.log(2))) : this.mrng.nextInt(0, n);
    const keep: number[] = [];
    const left: number[] = [];
    for (let k = 0; k < n; k++) {
      keep.push(0);
      left.push(k);
    }
    for (let k = 0; k < size; k++) keep[left.splice(this.mrng.nextInt(0, left.length - 1), 1)[0]] = 1;
    for (const c of keep) this.out.push(c);
    return keep;
  }
}

class Replay implements Source {
  readonly out: number[] = [];
  private at = 0;
  constructor(private readonly from: readonly number[]) {}

  choose(n: number): number {
    const c = Math.min(this.from[this.at++] ?? 0, n - 1);
    this.out.push(c);
    return c;
  }

  integer(s: Extract<Spec, { kind: "int" }>): number {
    const c = Math.min(this.from[this.at++] ?? 0, s.max - s.min);
    this.out.push(c);
    return c;
  }

  subset(n: number): number[] {
    const keep: number[] = [];
    for (let k = 0; k < n; k++) keep.push(this.choose(2));
    return keep;
  }
}

type Builder = (src: Source) => unknown;

/** Builders by spec: a spec is compiled once into closures, so a draw runs no dispatch on the spec's kind. */
const compiled = new WeakMap<Spec, Builder>();

function compile(s: Spec): Builder {
  let b = compiled.get(s);
  if (!b) compiled.set(s, (b = compileNew(s)));
  return b;
}

function compileNew(s: Spec): Builder {
  switch (s.kind) {
    case "lit": {
      const value = s.value;
      return () => value;
    }
    case "pick": {
      const values = s.values;
      const n = values.length;
      return (src) => values[src.choose(n)];
    }
    case "int": {
      const min = s.min;
      return (src) => min + src.integer(s);
    }
    case "one": {
      const { upTo, total } = s;
      const branches = s.specs.map(compile);
      return (src) => {
        // The branch as a point in [0, total): shrinking it moves towards the first branch.
        const at = src.choose(total);
        let lo = 0;
        let hi = upTo.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (at < upTo[mid]) hi = mid;
          else lo = mid + 1;
        }
        return branches[lo](src);
      };
    }
    case "rec": {
      const { keys, optional } = s;
      const fields = s.specs.map(compile);
      return (src) => {
        const o: Record<string, unknown> = {};
        for (let k = 0; k < keys.length; k++) {
          // An optional field: 0 leaves it out (one time in six, as fc.option), so shrinking drops it.
          if (optional[k] && src.choose(6) === 0) continue;
          o[keys[k]] = fields[k](src);
        }
        return o;
      };
    }
    case "sub": {
      const values = s.values;
      return (src) => {
        const keep = src.subset(values.length);
        const out: unknown[] = [];
        for (let k = 0; k < keep.length; k++) if (keep[k] === 1) out.push(values[k]);
        return out;
      };
    }
    case "map": {
      const inner = compile(s.spec);
      const f = s.f;
      return (src) => f(inner(src) as never);
    }
  }
}

/** Choices one step simpler than `c`: each in turn to 0, to half, and one less. */
function* simpler(c: readonly number[]): IterableIterator<number[]> {
  for (let i = 0; i < c.length; i++) {
    const v = c[i];
    if (v === 0) continue;
    const seen = new Set<number>();
    for (const w of [0, v >> 1, v - 1]) {
      if (w >= v || seen.has(w)) continue;
      seen.add(w);
      const next = c.slice();
      next[i] = w;
      yield next;
    }
  }
}

/** The fast-check arbitrary of a spec. */
export class ChoiceArbitrary<T> extends fc.Arbitrary<T> {
  private readonly build: Builder;

  constructor(readonly spec: Spec) {
    super();
    this.build = compile(spec);
  }

  generate(mrng: fc.Random, biasFactor: number | undefined): fc.Value<T> {
    const src = new Draw(mrng, biasFactor);
    const value = this.build(src) as T;
    return new fc.Value(value, src.out);
  }

  canShrinkWithoutContext(_value: unknown): _value is T {
    return false;
  }

  shrink(_value: T, context: unknown): fc.Stream<fc.Value<T>> {
    if (!Array.isArray(context)) return fc.Stream.nil();
    const build = this.build;
    return new fc.Stream(simpler(context as number[])).map((c) => {
      const src = new Replay(c);
      const value = build(src) as T;
      return new fc.Value(value, src.out);
    });
  }
}

export const choice = <T = Record<string, unknown>>(spec: Spec): fc.Arbitrary<T> => new ChoiceArbitrary<T>(spec);
