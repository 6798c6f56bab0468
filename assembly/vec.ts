/**
 * Three small containers over raw memory, so that records hold no managed
 * objects: Vec, a growable u32 array (lists of pointers kept in some order),
 * Table, an id -> pointer array for the kernel layer's never-reused small ids
 * (4 bytes per id ever made; the record itself is freed when the object dies),
 * and Ranges, a set of u64 half-open ranges kept sorted and merged.
 */
import { resize, free, unmake } from "./alloc";

@unmanaged
export class Vec {
  data: usize = 0;
  len: i32 = 0;
  cap: i32 = 0;

  @inline get(i: i32): u32 {
    return load<u32>(this.data + (<usize>i << 2));
  }

  @inline set(i: i32, v: u32): void {
    store<u32>(this.data + (<usize>i << 2), v);
  }

  private grow(): void {
    let cap = this.cap < 4 ? 4 : this.cap << 1;
    this.data = resize(this.data, <usize>this.cap << 2, <usize>cap << 2);
    this.cap = cap;
  }

  push(v: u32): void {
    if (this.len == this.cap) this.grow();
    this.set(this.len++, v);
  }

  insertAt(i: i32, v: u32): void {
    if (this.len == this.cap) this.grow();
    let p = this.data + (<usize>i << 2);
    memory.copy(p + 4, p, <usize>(this.len - i) << 2);
    store<u32>(p, v);
    this.len++;
  }

  removeAt(i: i32): void {
    let p = this.data + (<usize>i << 2);
    memory.copy(p, p + 4, <usize>(this.len - i - 1) << 2);
    this.len--;
  }

  indexOf(v: u32): i32 {
    for (let i = 0, n = this.len; i < n; i++) if (this.get(i) == v) return i;
    return -1;
  }

  /** Remove v, keeping the order of the rest. */
  remove(v: u32): void {
    let i = this.indexOf(v);
    if (i >= 0) this.removeAt(i);
  }

  dispose(): void {
    free(this.data, <usize>this.cap << 2);
    unmake(this);
  }
}

@unmanaged
export class Table {
  data: usize = 0;
  cap: i32 = 0;
  /** One past the highest id ever set. */
  end: i32 = 0;

  @inline get(id: i32): usize {
    return <u32>id < <u32>this.cap ? <usize>load<u32>(this.data + (<usize>id << 2)) : 0;
  }

  set(id: i32, p: usize): void {
    if (id >= this.cap) {
      let cap = this.cap < 16 ? 16 : this.cap;
      while (cap <= id) cap <<= 1;
      this.data = resize(this.data, <usize>this.cap << 2, <usize>cap << 2);
      memory.fill(this.data + (<usize>this.cap << 2), 0, <usize>(cap - this.cap) << 2);
      this.cap = cap;
    }
    store<u32>(this.data + (<usize>id << 2), <u32>p);
    if (id >= this.end) this.end = id + 1;
  }
}


/**
 * Disjoint, non-touching [start, end) ranges in ascending order, as u64 pairs.
 * An empty set costs nothing and answers has() without a search; adding a
 * range is a binary search plus the shift of the pairs after it.
 */
@unmanaged
export class Ranges {
  data: usize = 0;
  len: i32 = 0;
  cap: i32 = 0;

  @inline start(i: i32): u64 {
    return load<u64>(this.data + (<usize>i << 4));
  }

  @inline end(i: i32): u64 {
    return load<u64>(this.data + (<usize>i << 4), 8);
  }

  /** First index whose range ends at or after x (a range ending at x touches x): the first to overlap or touch a span starting at x. */
  firstEndingFrom(x: u64): i32 {
    let lo = 0, hi = this.len;
    while (lo < hi) {
      let mid = (lo + hi) >>> 1;
      if (this.end(mid) < x) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** Whether some range holds x. */
  @inline has(x: u64): bool {
    return this.len != 0 && this.search(x);
  }

  private search(x: u64): bool {
    let i = this.firstEndingFrom(x + 1);
    return i < this.len && this.start(i) <= x;
  }

  /** Add [s, e), merging every range it overlaps or touches; an empty range adds nothing. */
  add(s: u64, e: u64): void {
    if (s >= e) return;
    let i = this.firstEndingFrom(s);
    let j = i;
    while (j < this.len && this.start(j) <= e) j++;
    if (j > i) {
      // Ranges i..j-1 meet [s, e): they become one.
      s = min(s, this.start(i));
      e = max(e, this.end(j - 1));
      let p = this.data + (<usize>(i + 1) << 4);
      memory.copy(p, this.data + (<usize>j << 4), <usize>(this.len - j) << 4);
      this.len -= j - i - 1;
    } else {
      if (this.len == this.cap) {
        let cap = this.cap < 2 ? 2 : this.cap << 1;
        this.data = resize(this.data, <usize>this.cap << 4, <usize>cap << 4);
        this.cap = cap;
      }
      let p = this.data + (<usize>i << 4);
      memory.copy(p + 16, p, <usize>(this.len - i) << 4);
      this.len++;
    }
    store<u64>(this.data + (<usize>i << 4), s);
    store<u64>(this.data + (<usize>i << 4), e, 8);
  }

  /** Whether [s, e) lies inside one range (ranges never touch, so one range must hold it all). */
  covers(s: u64, e: u64): bool {
    if (this.len == 0) return false;
    let i = this.firstEndingFrom(s + 1);
    return i < this.len && this.start(i) <= s && this.end(i) >= e;
  }

  /** Whether some range overlaps [s, e). */
  meets(s: u64, e: u64): bool {
    if (this.len == 0) return false;
    let i = this.firstEndingFrom(s + 1);
    return i < this.len && this.start(i) < e;
  }

  /** Remove [s, e) from the set, splitting a range that holds it. */
  remove(s: u64, e: u64): void {
    if (s >= e || this.len == 0) return;
    let i = this.firstEndingFrom(s + 1);
    let j = i;
    while (j < this.len && this.start(j) < e) j++;
    if (j == i) return;
    // Ranges i..j-1 overlap [s, e): keep their parts before s and after e.
    let headS = this.start(i), tailE = this.end(j - 1);
    let keep = 0;
    let pieces = memory.data<u64>([0, 0, 0, 0]);
    if (headS < s) { store<u64>(pieces, headS); store<u64>(pieces, s, 8); keep++; }
    if (tailE > e) { store<u64>(pieces + (<usize>keep << 4), e); store<u64>(pieces + (<usize>keep << 4), tailE, 8); keep++; }
    let newLen = this.len - (j - i) + keep;
    if (newLen > this.cap) {
      let cap = this.cap << 1;
      this.data = resize(this.data, <usize>this.cap << 4, <usize>cap << 4);
      this.cap = cap;
    }
    memory.copy(this.data + (<usize>(i + keep) << 4), this.data + (<usize>j << 4), <usize>(this.len - j) << 4);
    memory.copy(this.data + (<usize>i << 4), pieces, <usize>keep << 4);
    this.len = newLen;
  }

  dispose(): void {
    free(this.data, <usize>this.cap << 4);
    unmake(this);
  }
}
