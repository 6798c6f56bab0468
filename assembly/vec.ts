/**
 * Two small containers over raw memory, so that records hold no managed
 * objects: Vec, a growable u32 array (lists of pointers kept in some order), and
 * Table, an id -> pointer array for the kernel layer's never-reused small ids
 * (4 bytes per id ever made; the record itself is freed when the object dies).
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

