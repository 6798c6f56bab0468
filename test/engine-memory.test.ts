/**
 * The WebAssembly core on its own, driven by raw commands through its buffers:
 * what it keeps in linear memory, and the page, pfn and SPTE behaviour that
 * the memory layout must not get wrong. Assertions on state and memory only.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import * as A from "../src/abi/core-abi.js";
import type { EngineExports } from "../src/core/engine.js";
import { rawInstance, runRaw, type Cmd } from "./helpers/raw-core.js";
import { readSnapshot } from "../src/check/snapshot.js";

const wasm = readFileSync(new URL("../build/gmemsim.wasm", import.meta.url));
const compiled = new WebAssembly.Module(wasm);
/** The debug build: same code with its assertions on. */
/** Bytes of one btree node (assembly/btree.ts NODE_BYTES): btreeNodes() counts nodes. */
const NODE_BYTES = 512;
const compiledDebug = new WebAssembly.Module(readFileSync(new URL("../build/gmemsim.debug.wasm", import.meta.url)));

type Exports = EngineExports;


interface Page { pgoff: number; pfn: number; byte: number; flags: number; ctx: number }
interface Snap {
  inodes: Map<number, { npages: number; pages: Page[] }>;
  files: Map<number, { inode: number; vm: number; rights: number; bindings: { pgoff: number; npages: number; slot: number }[]; blocked: [number, number][] }>;
  vms: Map<number, { sptes: { gfn: number; pfn: number; rights: number }[]; faults: number; zaps: number; exits: number; ctx: number }>;
  maps: Map<number, { hva: number; npages: number; inode: number; pgoff: number; rights: number; file: number; cow: number }>;
  end: { gmem: number; anon: number; nextPfn: number; freeDepth: number };
}

/** A fresh core instance and a tiny driver over its buffers. */
function core(module = compiled) {
  const x: Exports = rawInstance(module);
  const run = (...cmds: Cmd[]): number[][] => runRaw(x, cmds);
  // The checker's reader (src/check/snapshot.ts), reshaped for these tests: one reader of the layout.
  const snapshot = (): Snap => {
    const n = x.snapshot(); // first: it may grow the memory, and writes where snapshotPtr() then points
    const s = readSnapshot(new Float64Array(x.memory.buffer, x.snapshotPtr(), n));
    const vms = new Map([...s.vms].map(([id, v]) => [id, { sptes: v.sptes, faults: v.counters.faults, zaps: v.counters.zaps, exits: v.counters.exits, ctx: v.ctx }]));
    return { inodes: s.inodes, files: s.files, vms, maps: s.maps, end: { gmem: s.gmemPages, anon: s.anonPages, nextPfn: s.nextPfn, freeDepth: s.freeDepth } };
  };
  return { x, run, snapshot };
}

const TIB_PAGES = 2 ** 28;

/** 1,000 distinct pgoffs spread over a 1 TiB file (a fixed LCG, so runs repeat). */
function scattered(count: number, span: number): number[] {
  const set = new Set<number>();
  let s = 12345;
  while (set.size < count) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    set.add(Math.floor((s / 2 ** 31) * span));
  }
  return [...set];
}

test("a 1 TiB inode with 1,000 scattered pages grows linear memory by less than 256 KiB", () => {
  const { x, run, snapshot } = core();
  run([A.OP_INODE_CREATE, 0, TIB_PAGES, A.INODE_GMEM, 0]);
  const before = x.memory.buffer.byteLength;
  const pgoffs = scattered(1000, TIB_PAGES);
  const res = run(...pgoffs.map((p): Cmd => [A.OP_ALLOCATE, 0, p, p + 1]));
  assert.ok(res.every((r) => r[0] === A.RES_OK && r[1] === 1), "every ALLOCATE made its page");
  const grown = x.memory.buffer.byteLength - before;
  assert.ok(grown < 256 * 1024, `grew by ${grown} bytes`);
  assert.ok(x.btreeNodes() * NODE_BYTES < 64 * 1024, `${x.btreeNodes()} btree nodes for 1,000 pages`);
  const ino = snapshot().inodes.get(0)!;
  assert.is(ino.pages.length, 1000);
  assert.equal(ino.pages.map((p) => p.pgoff), [...pgoffs].sort((a, b) => a - b), "pages in ascending pgoff");
});

test("punching the whole 1 TiB range frees all 1,000 pages and leaves no node behind", () => {
  const { x, run, snapshot } = core();
  run([A.OP_INODE_CREATE, 0, TIB_PAGES, A.INODE_GMEM, 0]);
  run(...scattered(1000, TIB_PAGES).map((p): Cmd => [A.OP_ALLOCATE, 0, p, p + 1]));
  const [punch, stats] = run([A.OP_PUNCH, 0, 0, TIB_PAGES], [A.OP_STATS_HOST]);
  assert.equal(punch.slice(0, 2), [A.RES_OK, 1000]);
  assert.equal(stats.slice(0, 3), [A.RES_OK, 0, 0]);
  const s = snapshot();
  assert.equal(s.inodes.get(0)!.pages, []);
  assert.equal(s.end, { gmem: 0, anon: 0, nextPfn: 1001, freeDepth: 1000 });
  assert.is(x.btreeNodes(), 0, "the page cache's directory nodes went back to the pool");
  assert.is(x.mapBlocks(), 0, "the page cache's blocks went back to the pool");
  assert.is(x.mapBlockBytes(), 0);
});

/** Bytes of a block-map block holding `cap` values (assembly/blockmap.ts: a 24-byte header, then u32 values). */
const blockBytes = (cap: number) => 24 + 4 * cap;

test("a lone page costs one block of a new block's class (4 values), not a 64-value block", () => {
  const { x, run } = core();
  run([A.OP_INODE_CREATE, 0, TIB_PAGES, A.INODE_GMEM, 0]);
  run(...scattered(1000, TIB_PAGES / 64).map((p): Cmd => [A.OP_ALLOCATE, 0, p * 64, p * 64 + 1]));
  assert.is(x.mapBlocks(), 1000, "one block per page: no two pages share 64 aligned pgoffs");
  assert.is(x.mapBlockBytes(), 1000 * blockBytes(4));
  run(...Array.from({ length: 64 }, (_, k): Cmd => [A.OP_ALLOCATE, 0, 2 ** 27 + k, 2 ** 27 + k + 1]));
  assert.is(x.mapBlocks(), 1001, "64 aligned pages share one block");
  assert.is(x.mapBlockBytes(), 1000 * blockBytes(4) + blockBytes(64));
});

test("a block grows two classes at a time and shrinks back as pages come and go, every page keeping its pfn, debug build", () => {
  const c = core(compiledDebug);
  c.run([A.OP_INODE_CREATE, 0, 4096, A.INODE_ANON, 0]);
  // Pages of block 1 (pgoffs 64..127) one at a time, in a scrambled order (37 is prime to 64).
  const order = Array.from({ length: 64 }, (_, k) => 64 + ((k * 37) % 64));
  const pfnOf = new Map<number, number>();
  const sizes: number[] = [];
  for (const p of order) {
    c.run([A.OP_ALLOCATE, 0, p, p + 1]);
    pfnOf.set(p, pfnOf.size + 1);
    sizes.push(c.x.mapBlockBytes());
  }
  // Classes of 4, 16 and 64 values: a new block has room for 4, a full one takes the class of 4x its room.
  assert.equal([...new Set(sizes)], [4, 16, 64].map(blockBytes));
  assert.is(sizes.indexOf(blockBytes(64)), 16, "the 17th page takes the direct-indexed class");
  const pages = () => c.snapshot().inodes.get(0)!.pages.map((p) => [p.pgoff, p.pfn]);
  assert.equal(pages(), [...pfnOf].sort((a, b) => a[0] - b[0]));
  // Punch them again in another order: down to a quarter full, a block moves to the class of twice its pages.
  const shrinking: number[] = [];
  for (const p of [...order].reverse().slice(0, 63)) {
    c.run([A.OP_PUNCH, 0, p, p + 1]);
    pfnOf.delete(p);
    shrinking.push(c.x.mapBlockBytes());
    assert.equal(pages(), [...pfnOf].sort((a, b) => a[0] - b[0]));
  }
  assert.is(shrinking[64 - 16 - 1], blockBytes(32), "16 pages left of 64: the 32-value class");
  assert.is(shrinking[62], blockBytes(2), "one page left: the smallest class");
  c.run([A.OP_PUNCH, 0, 0, 4096]);
  assert.equal([c.x.mapBlocks(), c.x.mapBlockBytes(), c.x.btreeNodes()], [0, 0, 0], "an empty block is freed at once");
});

test("a punched page is not found through its block reused by another inode, and an inode created after a destroyed one starts empty", () => {
  const { run } = core();
  run([A.OP_INODE_CREATE, 0, 64, A.INODE_GMEM, 0], [A.OP_INODE_CREATE, 1, 64, A.INODE_GMEM, 0]);
  run([A.OP_ALLOCATE, 0, 5, 6], [A.OP_MEMORY_FAILURE, 0, 5]);
  // Inode 0's only block goes back to the pool, and inode 1's first page takes it.
  run([A.OP_PUNCH, 0, 5, 6], [A.OP_ALLOCATE, 1, 5, 6]);
  assert.equal(run([A.OP_MEMORY_FAILURE, 0, 5])[0][0], A.RES_NO_PAGE, "inode 0 has no page 5 any more");
  assert.equal(run([A.OP_MEMORY_FAILURE, 1, 5])[0].slice(0, 2), [A.RES_OK, 1]);
  // Inode 1 goes (its block too), and inode 2 takes its record.
  run([A.OP_INODE_DESTROY, 1], [A.OP_INODE_CREATE, 2, 64, A.INODE_GMEM, 0]);
  assert.equal(run([A.OP_MEMORY_FAILURE, 2, 5])[0][0], A.RES_NO_PAGE, "a new inode starts with no pages");
});

test("dense use costs at most 16 bytes of linear memory per page", () => {
  const { x, run, snapshot } = core();
  const N = 1 << 20;
  run([A.OP_INODE_CREATE, 0, N, A.INODE_GMEM, 0]);
  const before = x.memory.buffer.byteLength;
  const [r] = run([A.OP_ALLOCATE, 0, 0, N]);
  assert.equal(r.slice(0, 2), [A.RES_OK, N]);
  const perPage = (x.memory.buffer.byteLength - before) / N;
  assert.ok(perPage <= 16, `${perPage} bytes per page`);
  const s = snapshot();
  assert.is(s.inodes.get(0)!.pages.length, N);
  assert.is(s.inodes.get(0)!.pages[N - 1].pfn, N, "pfns in allocation order");
});

/**
 * Rounds of 100 random allocations and punches on inode 0, each over a range
 * that `pick` draws, checked against a plain set: every command's page count,
 * then the page cache itself. Returns the pages present at the end.
 */
function randomRounds(c: ReturnType<typeof core>, seed: number, rounds: number, pick: (rnd: (n: number) => number, round: number) => [number, number]): Set<number> {
  const present = new Set<number>();
  let s = seed;
  const rnd = (n: number) => ((s = (s * 1103515245 + 12345) % 2 ** 31), Math.floor((s / 2 ** 31) * n));
  for (let round = 0; round < rounds; round++) {
    const cmds: Cmd[] = [];
    const expect: number[] = [];
    for (let k = 0; k < 100; k++) {
      const [a, b] = pick(rnd, round);
      let n = 0;
      if (rnd(3) === 0) {
        for (let p = a; p < b; p++) if (present.delete(p)) n++;
        cmds.push([A.OP_PUNCH, 0, a, b]);
      } else {
        for (let p = a; p < b; p++) if (!present.has(p)) (present.add(p), n++);
        cmds.push([A.OP_ALLOCATE, 0, a, b]);
      }
      expect.push(n);
    }
    assert.equal(c.run(...cmds).map((r) => r[1]), expect, `round ${round}`);
    const pages = c.snapshot().inodes.get(0)!.pages.map((p) => p.pgoff);
    assert.equal(pages, [...present].sort((a, b) => a - b), `round ${round}`);
  }
  return present;
}

test("pages survive a random mix of allocations and punches exactly", () => {
  const c = core();
  const N = 50_000;
  c.run([A.OP_INODE_CREATE, 0, N, A.INODE_ANON, 0]);
  const present = randomRounds(c, 7, 40, (rnd, round) => {
    const a = rnd(N);
    return [a, Math.min(N, a + 1 + rnd(round % 2 ? 2000 : 40))];
  });
  const [stats] = c.run([A.OP_STATS_HOST]);
  assert.equal(stats.slice(1, 3), [0, present.size]);
});

test("pages of a few blocks keep their pfns through allocations and punches of every size, through every block class both ways, debug build", () => {
  const c = core(compiledDebug);
  const N = 512;
  c.run([A.OP_INODE_CREATE, 0, N, A.INODE_ANON, 0]);
  let s = 5;
  const rnd = (n: number) => ((s = (s * 1103515245 + 12345) % 2 ** 31), Math.floor((s / 2 ** 31) * n));
  // pgoff -> pfn, or 0 for a page allocated in the round not yet seen in a snapshot.
  const pfnOf = new Map<number, number>();
  for (let round = 0; round < 30; round++) {
    const cmds: Cmd[] = [];
    for (let k = 0; k < 100; k++) {
      const a = rnd(N), b = Math.min(N, a + 1 + rnd(round % 3 ? 6 : 100));
      if (rnd(3) === 0) {
        for (let p = a; p < b; p++) pfnOf.delete(p);
        cmds.push([A.OP_PUNCH, 0, a, b]);
      } else {
        for (let p = a; p < b; p++) if (!pfnOf.has(p)) pfnOf.set(p, 0);
        cmds.push([A.OP_ALLOCATE, 0, a, b]);
      }
    }
    c.run(...cmds);
    const pages = c.snapshot().inodes.get(0)!.pages;
    assert.equal(pages.map((p) => p.pgoff), [...pfnOf.keys()].sort((x, y) => x - y), `round ${round}: the pages present`);
    for (const p of pages) {
      const was = pfnOf.get(p.pgoff)!;
      if (was !== 0) assert.is(p.pfn, was, `round ${round}: pgoff ${p.pgoff} kept its pfn`);
      pfnOf.set(p.pgoff, p.pfn);
    }
    assert.is(new Set(pages.map((p) => p.pfn)).size, pages.length, `round ${round}: no pfn twice`);
  }
  c.run([A.OP_PUNCH, 0, 0, N]);
  assert.equal([c.x.mapBlocks(), c.x.btreeNodes()], [0, 0], "every block and node went back to the pool");
});

test("keys on both sides of 2^32 and 2^33 (leaves share a key's high half) survive allocations and punches, debug build", () => {
  const c = core(compiledDebug);
  const bases = [2 ** 32, 2 ** 33, 3 * 2 ** 32];
  c.run([A.OP_INODE_CREATE, 0, 2 ** 34, A.INODE_ANON, 0]);
  randomRounds(c, 11, 60, (rnd, round) => {
    const a = bases[rnd(3)] - 3000 + rnd(6000);
    return [a, a + 1 + rnd(round % 3 ? 150 : 2500)];
  });
  c.run([A.OP_PUNCH, 0, 0, 2 ** 34]);
  assert.is(c.x.btreeNodes(), 0, "every node went back to the pool");
  assert.is(c.x.mapBlocks(), 0, "every block went back to the pool");
});

test("freed pfns are reused last-freed first, pushed in ascending pgoff", () => {
  const { run, snapshot } = core();
  run([A.OP_INODE_CREATE, 0, 16, A.INODE_GMEM, 0], [A.OP_ALLOCATE, 0, 0, 4]);
  // pgoffs 0..3 hold pfns 1..4; freeing 1 and 3 pushes pfn 2 then pfn 4.
  run([A.OP_PUNCH, 0, 1, 2], [A.OP_PUNCH, 0, 3, 4]);
  run([A.OP_ALLOCATE, 0, 10, 13]);
  const pages = snapshot().inodes.get(0)!.pages;
  assert.equal(pages.map((p) => [p.pgoff, p.pfn]), [[0, 1], [2, 3], [10, 4], [11, 2], [12, 5]]);
  // A multi-page punch pushes ascending, so the highest pgoff's frame comes back first.
  run([A.OP_PUNCH, 0, 10, 13], [A.OP_ALLOCATE, 0, 5, 6]);
  assert.equal(snapshot().inodes.get(0)!.pages.find((p) => p.pgoff === 5)!.pfn, 5);
});

test("a guest fault on a gmem-only slot installs an SPTE and a PUNCH zaps it", () => {
  const { run, snapshot } = core();
  const flags = A.SLOT_GUEST_MEMFD | A.SLOT_GMEM_ONLY;
  run(
    [A.OP_VM_CREATE, 0],
    [A.OP_INODE_CREATE, 0, 512, A.INODE_GMEM, 1],
    [A.OP_FILE_CREATE, 0, 0, 0, A.RIGHTS_ALL],
    [A.OP_SLOT_CREATE, 0, 1, 0x100000, 512, 0, 0, flags],
  );
  const [w, r] = run(
    [A.OP_GUEST_ACCESS, 0, 0x100005, A.ACCESS_WRITE, 0, 0xab, 0],
    [A.OP_GUEST_ACCESS, 0, 0x100005, A.ACCESS_READ, 0, 0, 0],
  );
  assert.is(w[0], A.RES_OK);
  assert.equal(r.slice(0, 2), [A.RES_OK, 0xab], "the read hits the SPTE the write installed");
  let s = snapshot();
  assert.equal(s.vms.get(0)!.sptes, [{ gfn: 0x100005, pfn: 1, rights: A.RIGHT_R | A.RIGHT_W }]);
  assert.equal(s.inodes.get(0)!.pages, [{ pgoff: 5, pfn: 1, byte: 0xab, flags: A.PG_UPTODATE, ctx: 0 }]);
  assert.is(s.vms.get(0)!.faults, 1);

  const [p, st] = run([A.OP_PUNCH, 0, 0, 512], [A.OP_STATS_VM, 0]);
  assert.equal(p.slice(0, 2), [A.RES_OK, 1]);
  assert.equal(st.slice(0, 5), [A.RES_OK, 0, 1, 1, 0]);
  s = snapshot();
  assert.equal(s.vms.get(0)!.sptes, []);
  assert.is(s.vms.get(0)!.zaps, 1);
  assert.equal(s.inodes.get(0)!.pages, []);
});

test("a punch through a host mapping zaps the SPTEs the MMU notifier reaches, in every VM", () => {
  const { run, snapshot } = core();
  const HVA = 0x7f0000000;
  run(
    [A.OP_INODE_CREATE, 0, 1024, A.INODE_ANON, 0],
    [A.OP_HOSTMAP_CREATE, 0, HVA, 1024, 0, 0, A.RIGHT_R | A.RIGHT_W, -1],
    [A.OP_VM_CREATE, 0],
    [A.OP_VM_CREATE, 1],
    [A.OP_SLOT_CREATE, 0, 0, 0, 1024, -1, 0, 0],
    [A.OP_SLOT_SET_UADDR, 0, 0, HVA],
    [A.OP_SLOT_CREATE, 1, 3, 2 ** 40, 512, -1, 0, 0],
    [A.OP_SLOT_SET_UADDR, 1, 3, HVA + 512],
  );
  const acc = run(
    [A.OP_GUEST_ACCESS, 0, 600, A.ACCESS_WRITE, 0, 7, 0],
    [A.OP_GUEST_ACCESS, 1, 2 ** 40 + 88, A.ACCESS_READ, 0, 0, 0],
    [A.OP_GUEST_ACCESS, 0, 10, A.ACCESS_READ, 0, 0, 0],
    [A.OP_HOST_ACCESS, HVA + 600, 0, 0],
  );
  assert.equal(acc.map((r) => r.slice(0, 2)), [[A.RES_OK, 0], [A.RES_OK, 7], [A.RES_OK, 0], [A.RES_OK, 7]]);
  run([A.OP_PUNCH, 0, 600, 601]);
  const s = snapshot();
  assert.equal(s.vms.get(0)!.sptes.map((e) => e.gfn), [10]);
  assert.equal(s.vms.get(1)!.sptes, []);
  assert.equal([s.vms.get(0)!.zaps, s.vms.get(1)!.zaps], [1, 1]);
});

test("deleting a memslot zaps every SPTE of the VM and frees the table's blocks and nodes", () => {
  const { x, run, snapshot } = core();
  run(
    [A.OP_VM_CREATE, 0],
    [A.OP_INODE_CREATE, 0, 1 << 16, A.INODE_GMEM, 1],
    [A.OP_FILE_CREATE, 0, 0, 0, A.RIGHTS_ALL],
    [A.OP_SLOT_CREATE, 0, 0, 0, 1 << 16, 0, 0, A.SLOT_GUEST_MEMFD | A.SLOT_GMEM_ONLY],
    [A.OP_SLOT_CREATE, 0, 1, 1 << 20, 1, -1, 0, 0],
  );
  const N = 20_000;
  for (let g = 0; g < N; g += 1000) {
    run(...Array.from({ length: 1000 }, (_, k): Cmd => [A.OP_GUEST_ACCESS, 0, g + k, A.ACCESS_READ, 0, 0, 0]));
  }
  const nodesWithTable = x.btreeNodes();
  const blocksWithTable = x.mapBlocks();
  run([A.OP_SLOT_DELETE, 0, 1]);
  const vm = snapshot().vms.get(0)!;
  assert.equal([vm.sptes.length, vm.faults, vm.zaps], [0, N, N]);
  assert.ok(x.btreeNodes() < nodesWithTable / 2 + 1, "the stage-2 directory nodes were freed");
  assert.is(x.mapBlocks(), blocksWithTable / 2, "the stage-2 blocks were freed (the page cache keeps as many)");
});

test("dense private use: the ctx words keep page cache and frames within 20 bytes per page (SPTEs apart)", () => {
  const { x, run, snapshot } = core();
  const N = 1 << 18;
  run(
    [A.OP_VM_CREATE, 0],
    [A.OP_INODE_CREATE, 0, N, A.INODE_GMEM, 0],
    [A.OP_FILE_CREATE, 0, 0, 0, A.RIGHTS_ALL],
    [A.OP_SLOT_CREATE, 0, 0, 0, N, 0, 0, A.SLOT_GUEST_MEMFD],
  );
  const before = x.memory.buffer.byteLength;
  const nodesBefore = x.btreeNodes();
  const blocksBefore = x.mapBlockBytes();
  for (let g = 0; g < N; g += A.CMD_CAPACITY) {
    const res = run(...Array.from({ length: A.CMD_CAPACITY }, (_, k): Cmd => [A.OP_GUEST_ACCESS, 0, g + k, A.ACCESS_WRITE, 1, 1, 1]));
    assert.ok(res.every((r) => r[0] === A.RES_OK));
  }
  const grown = x.memory.buffer.byteLength - before;
  const s = snapshot();
  const sptes = s.vms.get(0)!.sptes;
  assert.is(sptes.length, N);
  // The stage-2 table holds as many entries as the page cache, in as many blocks and directory nodes: half are SPTEs.
  const stage2Bytes = ((x.btreeNodes() - nodesBefore) * NODE_BYTES + (x.mapBlockBytes() - blocksBefore)) / 2;
  const perPage = (grown - stage2Bytes) / N;
  assert.ok(perPage <= 20, `${perPage} bytes per private page besides its SPTE`);
  assert.ok(s.inodes.get(0)!.pages.every((p) => p.ctx === 1 && p.flags === (A.PG_UPTODATE | A.PG_PRIVATE)));
});

/** Two VMs, each with a gmem file on one INIT_SHARED | MMAP inode, bound and mmapped. */
function twoFiles() {
  const c = core();
  const HVA0 = 0x7f0000000, HVA1 = 0x7f1000000;
  c.run(
    [A.OP_VM_CREATE, 0],
    [A.OP_VM_CREATE, 1],
    [A.OP_INODE_CREATE, 0, 64, A.INODE_GMEM, 3],
    [A.OP_FILE_CREATE, 0, 0, 0, A.RIGHTS_ALL],
    [A.OP_FILE_CREATE, 1, 0, 1, A.RIGHTS_ALL],
    // VM 0: a gmem-only slot on file 0, and a plain slot reading file 0 through its host map.
    [A.OP_SLOT_CREATE, 0, 0, 0x1000, 64, 0, 0, A.SLOT_GUEST_MEMFD | A.SLOT_GMEM_ONLY],
    [A.OP_SLOT_CREATE, 0, 1, 0x2000, 64, -1, 0, 0],
    [A.OP_SLOT_SET_UADDR, 0, 1, HVA0],
    // VM 1: a gmem-only slot on file 1 (another file, same inode).
    [A.OP_SLOT_CREATE, 1, 0, 0x1000, 64, 1, 0, A.SLOT_GUEST_MEMFD | A.SLOT_GMEM_ONLY],
    [A.OP_HOSTMAP_CREATE, 0, HVA0, 64, 0, 0, A.RIGHT_R | A.RIGHT_W, 0],
    [A.OP_HOSTMAP_CREATE, 1, HVA1, 64, 0, 0, A.RIGHT_R | A.RIGHT_W, 1],
  );
  return { ...c, HVA0, HVA1 };
}

test("FILE_BLOCK zaps the file's SPTEs in range, then its guest faults there are EACCES and its maps SIGBUS", () => {
  const { run, snapshot, HVA0, HVA1 } = twoFiles();
  const acc = run(
    [A.OP_GUEST_ACCESS, 0, 0x1000 + 10, A.ACCESS_WRITE, 0, 0xab, 0],
    [A.OP_GUEST_ACCESS, 0, 0x1000 + 11, A.ACCESS_WRITE, 1, 0xcd, 1],
    [A.OP_GUEST_ACCESS, 0, 0x1000 + 30, A.ACCESS_READ, 0, 0, 0],
    [A.OP_GUEST_ACCESS, 0, 0x2000 + 12, A.ACCESS_READ, 0, 0, 0],
    [A.OP_GUEST_ACCESS, 1, 0x1000 + 10, A.ACCESS_READ, 0, 0, 0],
  );
  assert.equal(acc.map((r) => r.slice(0, 2)), [[A.RES_OK, 0], [A.RES_OK, 0], [A.RES_OK, 0], [A.RES_OK, 0], [A.RES_OK, 0xab]]);
  let s = snapshot();
  assert.equal(s.vms.get(0)!.sptes.map((e) => e.gfn), [0x1000 + 10, 0x1000 + 11, 0x1000 + 30, 0x2000 + 12]);
  assert.equal(s.maps.get(0)!.file, 0);
  assert.equal(s.maps.get(1)!.file, 1);
  assert.equal(s.files.get(0)!.blocked, []);

  run([A.OP_FILE_BLOCK, 0, 8, 16]);
  s = snapshot();
  assert.equal(s.files.get(0)!.blocked, [[8, 16]]);
  assert.equal(s.files.get(1)!.blocked, [], "the other file on the inode is not blocked");
  assert.equal(s.vms.get(0)!.sptes.map((e) => e.gfn), [0x1000 + 30], "the binding's SPTEs and the map's (via the notifier) went");
  assert.is(s.vms.get(0)!.zaps, 3);
  assert.equal(s.vms.get(1)!.sptes.map((e) => e.gfn), [0x1000 + 10], "the other VM's file keeps its SPTE");
  assert.is(s.vms.get(1)!.zaps, 0);
  assert.is(s.inodes.get(0)!.pages.length, 4, "blocking frees no page");

  const after = run(
    [A.OP_GUEST_ACCESS, 0, 0x1000 + 10, A.ACCESS_READ, 0, 0, 0],
    [A.OP_GUEST_ACCESS, 0, 0x1000 + 9, A.ACCESS_WRITE, 1, 1, 1],
    [A.OP_GUEST_ACCESS, 0, 0x2000 + 12, A.ACCESS_READ, 0, 0, 0],
    [A.OP_HOST_ACCESS, HVA0 + 10, 0, 0],
    [A.OP_HOST_ACCESS, HVA0 + 15, 1, 5],
    [A.OP_HOST_ACCESS, HVA1 + 10, 0, 0],
    [A.OP_HOST_ACCESS, HVA0 + 16, 0, 0],
    [A.OP_GUEST_ACCESS, 0, 0x1000 + 30, A.ACCESS_READ, 0, 0, 0],
    [A.OP_GUEST_ACCESS, 1, 0x1000 + 11, A.ACCESS_READ, 0, 0, 0],
  );
  assert.equal(after.map((r) => r.slice(0, 3)), [
    [A.RES_MEMFAULT_EACCES, 0, 0x1000 + 10],
    [A.RES_MEMFAULT_EACCES, A.MEMFAULT_PRIVATE, 0x1000 + 9],
    [A.RES_EFAULT, 0, 0x2000 + 12],
    [A.RES_SIGBUS, 0, 0],
    [A.RES_SIGBUS, 0, 0],
    [A.RES_OK, 0xab, 0],
    [A.RES_OK, 0, 0],
    [A.RES_OK, 0, 0],
    [A.RES_OK, 0xcd, 0],
  ]);
  s = snapshot();
  assert.is(s.vms.get(0)!.exits, 2, "two memory-fault exits; the bare EFAULT is no exit");
  assert.ok(!s.inodes.get(0)!.pages.some((p) => p.pgoff === 9 || p.pgoff === 15), "a blocked fault creates no page");

  // Blocked ranges stay sorted and merged (touching ranges too).
  run([A.OP_FILE_BLOCK, 0, 16, 20], [A.OP_FILE_BLOCK, 0, 2, 4], [A.OP_FILE_BLOCK, 0, 40, 41]);
  assert.equal(snapshot().files.get(0)!.blocked, [[2, 4], [8, 20], [40, 41]]);
  run([A.OP_FILE_BLOCK, 0, 3, 9]);
  assert.equal(snapshot().files.get(0)!.blocked, [[2, 20], [40, 41]]);
  run([A.OP_FILE_BLOCK, 0, 0, 64]);
  assert.equal(snapshot().files.get(0)!.blocked, [[0, 64]]);
  assert.equal(run([A.OP_HOST_ACCESS, HVA0 + 30, 0, 0])[0].slice(0, 2), [A.RES_SIGBUS, 0]);
  assert.equal(snapshot().vms.get(0)!.sptes, []);
});

test("a private access prepares the page under the VM's context and installs a private SPTE", () => {
  const { run, snapshot } = twoFiles();
  let s = snapshot();
  assert.equal([s.vms.get(0)!.ctx, s.vms.get(1)!.ctx], [1, 2], "ctx = vm + 1 at creation");
  const r = run(
    [A.OP_GUEST_ACCESS, 0, 0x1000 + 5, A.ACCESS_WRITE, 1, 0x11, 1],
    [A.OP_GUEST_ACCESS, 0, 0x1000 + 6, A.ACCESS_READ, 0, 0, 0],
    [A.OP_VM_SET_CTX, 0, 77],
    [A.OP_GUEST_ACCESS, 0, 0x1000 + 7, A.ACCESS_READ, 1, 0, 1],
    [A.OP_GUEST_ACCESS, 1, 0x1000 + 5, A.ACCESS_READ, 1, 0, 1],
    [A.OP_GUEST_ACCESS, 0, 0x1000 + 5, A.ACCESS_EXEC, 1, 0, 1],
  );
  assert.ok(r.every((x) => x[0] === A.RES_OK));
  assert.is(r[4][1], 0x11, "the other VM reads the page through its own file");
  s = snapshot();
  assert.equal([s.vms.get(0)!.ctx, s.vms.get(1)!.ctx], [77, 2]);
  const P = A.PG_UPTODATE | A.PG_PRIVATE;
  assert.equal(s.inodes.get(0)!.pages.map((p) => [p.pgoff, p.flags, p.ctx]), [
    [5, P, 1], // prepared by VM 0 before VM_SET_CTX; VM 1's private fault kept its context
    [6, A.PG_UPTODATE, 0], // shared access through the gmem-only slot: not prepared
    [7, P, 77],
  ]);
  const pfn = (pgoff: number) => s.inodes.get(0)!.pages.find((p) => p.pgoff === pgoff)!.pfn;
  assert.equal(s.vms.get(0)!.sptes, [
    { gfn: 0x1000 + 5, pfn: pfn(5), rights: A.RIGHT_R | A.RIGHT_W | A.RIGHT_X | A.SPTE_PRIVATE },
    { gfn: 0x1000 + 6, pfn: pfn(6), rights: A.RIGHT_R },
    { gfn: 0x1000 + 7, pfn: pfn(7), rights: A.RIGHT_R | A.SPTE_PRIVATE },
  ]);
  assert.equal(s.vms.get(1)!.sptes, [{ gfn: 0x1000 + 5, pfn: pfn(5), rights: A.RIGHT_R | A.SPTE_PRIVATE }]);

  // A freed frame comes back with no flags and ctx 0, and is prepared afresh.
  const old = pfn(7);
  run([A.OP_PUNCH, 0, 7, 8], [A.OP_ALLOCATE, 0, 20, 21]);
  s = snapshot();
  assert.equal(s.inodes.get(0)!.pages.find((p) => p.pgoff === 20), { pgoff: 20, pfn: old, byte: 0, flags: 0, ctx: 0 });
  run([A.OP_VM_SET_CTX, 1, 0], [A.OP_GUEST_ACCESS, 1, 0x1000 + 20, A.ACCESS_READ, 1, 0, 1]);
  s = snapshot();
  assert.equal(s.inodes.get(0)!.pages.find((p) => p.pgoff === 20)!.flags, P, "ctx 0 still prepares");
  assert.is(s.inodes.get(0)!.pages.find((p) => p.pgoff === 20)!.ctx, 0);
});

/**
 * A setup that creates every kind of object, then `ops` random commands over
 * it (accesses of every path, allocations, punches, zaps, poison, blocks,
 * rights and contexts), with a snapshot halfway: every piece of core state is
 * touched. Different seeds give different traces.
 */
function mixedTrace(seed: number, ops: number): Cmd[] {
  let s = seed;
  const rnd = (n: number) => ((s = (s * 1103515245 + 12345) % 2 ** 31), Math.floor((s / 2 ** 31) * n));
  const HVA_ANON = 0x7f0000000, HVA_G = 0x7f1000000;
  const GMEM_ONLY = A.SLOT_GUEST_MEMFD | A.SLOT_GMEM_ONLY;
  const cmds: Cmd[] = [
    [A.OP_VM_CREATE, 0],
    [A.OP_VM_CREATE, 1],
    [A.OP_VM_SET_CTX, 1, 40 + rnd(9)],
    [A.OP_INODE_CREATE, 0, 4096, A.INODE_GMEM, 3],
    [A.OP_INODE_CREATE, 1, 4096, A.INODE_ANON, 0],
    [A.OP_FILE_CREATE, 0, 0, 0, A.RIGHTS_ALL],
    [A.OP_FILE_CREATE, 1, 0, 1, A.RIGHTS_ALL],
    [A.OP_SLOT_CREATE, 0, 0, 0x1000, 1024, 0, 0, GMEM_ONLY],
    [A.OP_SLOT_CREATE, 0, 1, 0x10000, 1024, 0, 1024, A.SLOT_GUEST_MEMFD],
    [A.OP_SLOT_SET_UADDR, 0, 1, HVA_G],
    [A.OP_SLOT_CREATE, 0, 2, 0x20000, 2048, -1, 0, 0],
    [A.OP_SLOT_SET_UADDR, 0, 2, HVA_ANON],
    [A.OP_SLOT_CREATE, 1, 0, 0x1000, 2048, 1, 0, GMEM_ONLY],
    [A.OP_HOSTMAP_CREATE, 0, HVA_ANON, 4096, 1, 0, A.RIGHT_R | A.RIGHT_W, -1],
    [A.OP_HOSTMAP_CREATE, 1, HVA_G, 1024, 0, 1024, A.RIGHT_R | A.RIGHT_W, 0],
  ];
  const gfn = (vm: number): number => {
    if (vm === 1) return 0x1000 + rnd(2100);
    const slot = rnd(3);
    return slot === 0 ? 0x1000 + rnd(1100) : slot === 1 ? 0x10000 + rnd(1024) : 0x20000 + rnd(2048);
  };
  for (let k = 0; k < ops; k++) {
    if (k === ops >> 1) cmds.push([A.OP_STATS_INODE, 0], [A.OP_STATS_VM, 1], [A.OP_STATS_HOST]);
    const r = rnd(100);
    const inode = rnd(2);
    const a = rnd(4096), b = Math.min(4096, a + 1 + rnd(rnd(4) ? 4 : 300));
    if (r < 45) {
      const vm = rnd(2), priv = rnd(3) === 0 ? 1 : 0;
      cmds.push([A.OP_GUEST_ACCESS, vm, gfn(vm), rnd(3), priv, rnd(256), rnd(20) ? priv : 1 - priv]);
    } else if (r < 55) {
      const anon = rnd(2);
      cmds.push([A.OP_HOST_ACCESS, anon ? HVA_ANON + rnd(4096) : HVA_G + rnd(1024), rnd(2), rnd(256)]);
    } else if (r < 67) cmds.push([A.OP_ALLOCATE, inode, a, b]);
    else if (r < 79) cmds.push([A.OP_PUNCH, inode, a, b]);
    else if (r < 87) cmds.push([A.OP_ZAP_GFNS, rnd(2), 0x1000 + rnd(0x20000), 0x1000 + rnd(0x20000) + rnd(3000)]);
    else if (r < 91) cmds.push([A.OP_MEMORY_FAILURE, inode, rnd(4096)]);
    else if (r < 94) cmds.push([A.OP_FILE_BLOCK, rnd(2), a, Math.min(4096, a + rnd(40))]);
    else if (r < 97) cmds.push([A.OP_FILE_SET_RIGHTS, rnd(2), [A.RIGHTS_ALL, A.RIGHT_R, A.RIGHT_R | A.RIGHT_W][rnd(3)]]);
    else cmds.push([A.OP_VM_SET_CTX, rnd(2), rnd(100)]);
  }
  cmds.push([A.OP_STATS_INODE, 0], [A.OP_STATS_INODE, 1], [A.OP_STATS_VM, 0], [A.OP_STATS_VM, 1], [A.OP_STATS_HOST]);
  return cmds;
}

/** Runs cmds in batches of at most CMD_CAPACITY; all result rows in order. */
function runAll(run: (...cmds: Cmd[]) => number[][], cmds: Cmd[]): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < cmds.length; i += A.CMD_CAPACITY) out.push(...run(...cmds.slice(i, i + A.CMD_CAPACITY)));
  return out;
}

function rawSnapshot(x: Exports): number[] {
  const n = x.snapshot();
  return Array.from(new Float64Array(x.memory.buffer, x.snapshotPtr(), n));
}

/** Linear memory of a used-then-reset instance against a fresh one's: the same bytes, then zeros. */
function sameMemory(used: Exports, fresh: Exports, label: string): void {
  const u = new Uint8Array(used.memory.buffer), f = new Uint8Array(fresh.memory.buffer);
  assert.ok(u.length >= f.length, `${label}: memory never shrinks`);
  const diff = f.findIndex((b, i) => b !== u[i]);
  assert.is(diff, -1, `${label}: first differing byte`);
  const stray = u.subarray(f.length).findIndex((b) => b !== 0);
  assert.is(stray, -1, `${label}: first non-zero byte past a fresh instance's memory`);
}

test("reset() leaves an instance that runs a trace exactly as a fresh one does, release and debug builds", () => {
  for (const module of [compiled, compiledDebug]) {
    const first = mixedTrace(1, 6000);
    const second = mixedTrace(2, 3000);
    const used = core(module);
    const r1 = runAll(used.run, first);
    assert.ok(r1.some((r) => r[0] !== A.RES_OK) && r1.filter((r) => r[0] === A.RES_OK).length > first.length / 2, "the trace mixes successes and failures");
    const s1 = used.snapshot();
    assert.ok(s1.end.freeDepth > 0 && s1.files.get(0)!.blocked.length > 0 && s1.vms.get(0)!.sptes.length > 0, "the first trace left state everywhere");
    assert.ok(used.x.btreeNodes() > 0);
    used.x.reset();
    assert.is(used.x.btreeNodes(), 0, "no btree node survives reset");
    assert.is(used.x.mapBlocks(), 0, "no block-map block survives reset");
    sameMemory(used.x, core(module).x, "right after reset");

    const fresh = core(module);
    const expect = runAll(fresh.run, second);
    assert.equal(runAll(used.run, second), expect, "results of the second trace");
    assert.equal(rawSnapshot(used.x), rawSnapshot(fresh.x), "snapshot stream after the second trace");
    assert.is(used.x.btreeNodes(), fresh.x.btreeNodes());
    assert.is(used.x.mapBlockBytes(), fresh.x.mapBlockBytes());
    sameMemory(used.x, fresh.x, "after the second trace");
    // And again: a reset of a reset instance.
    used.x.reset();
    assert.equal(runAll(used.run, first), r1, "the first trace again");
  }
});

test.run();
