/**
 * The baseline a user would write instead of gmemsim: a plain-JavaScript model
 * of the guest-traffic path, with Maps for the page caches and the SPTEs and a
 * LIFO pool of frames, and nothing else (no uAPI checks, no policy, no
 * snapshots). It follows the same rules as the core on this path (core-abi.ts
 * GUEST_ACCESS steps 1b, 3 and 5 for a gmem-only memslot, ALLOCATE, PUNCH with
 * its zap of every binding, frames numbered as the contract numbers them), so
 * its answers can be checked against the engine's before it is timed.
 */
export const OP_READ = 0;
export const OP_WRITE = 1;
export const OP_ALLOCATE = 2;
export const OP_PUNCH = 3;

interface ModelVm {
  /** gfn -> pfn * 8 + rights (1 R, 2 W). */
  sptes: Map<number, number>;
  faults: number;
  zaps: number;
  /** The one memslot: gfns [0, npages) bound to the inode from pgoff 0. */
  npages: number;
  inode: ModelInode;
}

interface ModelInode {
  pages: Map<number, number>;
  /** The VMs whose memslots bind this inode (for the punch's zap). */
  bound: ModelVm[];
}

export class JsModel {
  readonly vms: ModelVm[] = [];
  private bytes = new Uint8Array(1024);
  private uptodate = new Uint8Array(1024);
  private free: number[] = [];
  private nextPfn = 1;
  hostPages = 0;

  /** A VM with one gmem file of npages, bound whole at gfn 0. */
  addVm(npages: number): number {
    const inode: ModelInode = { pages: new Map(), bound: [] };
    const vm: ModelVm = { sptes: new Map(), faults: 0, zaps: 0, npages, inode };
    inode.bound.push(vm);
    return this.vms.push(vm) - 1;
  }

  private frame(): number {
    const pfn = this.free.length ? this.free.pop()! : this.nextPfn++;
    if (pfn >= this.bytes.length) {
      const b = new Uint8Array(this.bytes.length * 2);
      b.set(this.bytes);
      this.bytes = b;
      const u = new Uint8Array(b.length);
      u.set(this.uptodate);
      this.uptodate = u;
    }
    this.bytes[pfn] = 0;
    this.uptodate[pfn] = 0;
    this.hostPages++;
    return pfn;
  }

  /** A guest read (returns the byte) or write; -1 for an MMIO exit (no memslot). */
  access(v: number, gfn: number, write: boolean, byte: number): number {
    const vm = this.vms[v];
    const right = write ? 2 : 1;
    const spte = vm.sptes.get(gfn);
    let pfn: number;
    if (spte !== undefined && spte & right) pfn = spte >>> 3;
    else {
      if (gfn >= vm.npages) return -1;
      const pages = vm.inode.pages;
      pfn = pages.get(gfn) ?? 0;
      if (pfn === 0) {
        pfn = this.frame();
        pages.set(gfn, pfn);
      }
      if (!this.uptodate[pfn]) {
        this.bytes[pfn] = 0;
        this.uptodate[pfn] = 1;
      }
      const rights = write ? 3 : 1;
      vm.sptes.set(gfn, spte !== undefined && spte >>> 3 === pfn ? spte | rights : pfn * 8 + rights);
      vm.faults++;
    }
    if (write) this.bytes[pfn] = byte;
    return this.bytes[pfn];
  }

  allocate(v: number, pgoff: number): void {
    const pages = this.vms[v].inode.pages;
    if (!pages.has(pgoff)) pages.set(pgoff, this.frame());
  }

  punch(v: number, pgoff: number): void {
    const inode = this.vms[v].inode;
    for (const vm of inode.bound) if (vm.sptes.delete(pgoff)) vm.zaps++;
    const pfn = inode.pages.get(pgoff);
    if (pfn !== undefined) {
      inode.pages.delete(pgoff);
      this.free.push(pfn);
      this.hostPages--;
    }
  }

  /** Runs ops [from, to) of a stream (kind, vm, page as parallel arrays); returns the sum of the bytes read. */
  run(kind: Uint8Array, vm: Uint8Array, page: Uint32Array, value: Uint8Array, from: number, to: number): number {
    let sum = 0;
    for (let k = from; k < to; k++) {
      switch (kind[k]) {
        case OP_READ:
          sum += this.access(vm[k], page[k], false, 0);
          break;
        case OP_WRITE:
          this.access(vm[k], page[k], true, value[k]);
          break;
        case OP_ALLOCATE:
          this.allocate(vm[k], page[k]);
          break;
        default:
          this.punch(vm[k], page[k]);
      }
    }
    return sum;
  }
}
