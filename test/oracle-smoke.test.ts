/**
 * Smoke tests of the kernel oracle against the live kernel (/dev/kvm).
 * Where the kernel is not available they are registered as skipped, never
 * as passed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { kernelAvailability, runOnKernel, type KernelResult } from "../src/oracle/driver.js";

const avail = kernelAvailability();

/** Run trace lines (objects or raw text) and return their results. */
async function run(lines: (object | string)[]): Promise<KernelResult[]> {
  const text = lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n";
  return runOnKernel(text);
}

const vm = { op: "create_vm", as: "v", type: "default" };
const gmem = (flags: unknown, size: unknown = "0x200000") => ({
  op: "create_guest_memfd", vm: "v", as: "g", size, flags,
});
const mapAll = { op: "mmap", fd: "g", as: "m", offset: 0, len: "0x200000", prot: "rw", shared: true };

if (!avail.ok) {
  console.log(`SKIPPED: ${avail.reason}`);
  test.skip("kernel oracle smoke tests (no usable /dev/kvm)", () => {});
} else {
  test("create_guest_memfd with flags bit 2 should fail with EINVAL", async () => {
    const r = await run([vm, gmem(4, 4096)]);
    assert.equal(r[1], { i: 1, errno: "EINVAL" });
  });

  test("create_guest_memfd with size 4097 should fail with EINVAL", async () => {
    const r = await run([vm, gmem(0, 4097)]);
    assert.equal(r[1], { i: 1, errno: "EINVAL" });
  });

  test("fallocate KEEP_SIZE beyond EOF should fail with EINVAL; inside EOF it succeeds", async () => {
    const r = await run([
      vm,
      gmem(0, 8192),
      { op: "fallocate", fd: "g", mode: "KEEP_SIZE", offset: 8192, len: 4096 },
      { op: "fallocate", fd: "g", mode: "FALLOC_FL_KEEP_SIZE", offset: 4096, len: 8192 },
      { op: "fallocate", fd: "g", mode: ["KEEP_SIZE"], offset: 0, len: 8192 },
      { op: "fstat", fd: "g" },
    ]);
    assert.equal(r.slice(2), [
      { i: 2, errno: "EINVAL" },
      { i: 3, errno: "EINVAL" },
      { i: 4, ret: 0 },
      { i: 5, ret: 0, size: 8192, blocks: 0 },
    ]);
  });

  test("a store through an MMAP|INIT_SHARED mapping should be read back; a punch should read 0", async () => {
    const r = await run([
      vm,
      gmem(["MMAP", "INIT_SHARED"]),
      mapAll,
      { op: "store", map: "m", offset: 4100, value: 171 },
      { op: "load", map: "m", offset: 8191 },
      { op: "fallocate", fd: "g", mode: ["KEEP_SIZE", "PUNCH_HOLE"], offset: 4096, len: 4096 },
      { op: "load", map: "m", offset: 8191 },
    ]);
    assert.equal(r.slice(3), [
      { i: 3, ret: 0 },
      { i: 4, ret: 0, value: 171 },
      { i: 5, ret: 0 },
      { i: 6, ret: 0, value: 0 },
    ]);
  });

  test("a host load from a file without INIT_SHARED should be SIGBUS", async () => {
    const r = await run([vm, gmem("MMAP"), mapAll, { op: "load", map: "m", offset: 0 }]);
    assert.equal(r[3], { i: 3, signal: "SIGBUS" });
  });

  test("a guest should read a host-written byte on a gmem-only memslot, and fault after close", async () => {
    const r = await run([
      vm,
      gmem(["MMAP", "INIT_SHARED"]),
      mapAll,
      {
        op: "set_user_memory_region2", vm: "v", slot: 0, flags: "GUEST_MEMFD",
        guest_phys_addr: "0x100000000", memory_size: "0x200000",
        userspace_addr: { map: "m" }, guest_memfd: "g", guest_memfd_offset: 0,
      },
      { op: "store", map: "m", offset: 4096, value: 77 },
      { op: "vcpu_access", vm: "v", gpa: "0x100001005", access: "read" },
      { op: "vcpu_access", vm: "v", gpa: "0x100002000", access: "write", value: 9 },
      { op: "load", map: "m", offset: 8195 },
      { op: "munmap", map: "m" },
      { op: "close", fd: "g" },
      { op: "vcpu_access", vm: "v", gpa: "0x100001005", access: "read" },
      { op: "vcpu_access", vm: "v", gpa: "0x300000010", access: "write", value: 1 },
    ]);
    assert.equal(r.slice(5), [
      { i: 5, ret: 0, value: 77 },
      { i: 6, ret: 0 },
      { i: 7, ret: 0, value: 9 },
      { i: 8, ret: 0 },
      { i: 9, ret: 0 },
      { i: 10, errno: "EFAULT", exit: "memory_fault", gpa: 0x100001000, size: 4096, flags: [] },
      { i: 11, ret: 0, exit: "mmio", gpa: 0x300000010 },
    ]);
  });

  test("skipped lines should not count; bad lines should get an error and the run go on", async () => {
    const r = await run([
      "# a comment",
      "",
      "   # an indented comment",
      "not json",
      { op: "no_such_op" },
      { op: "check_extension", cap: "KVM_CAP_GUEST_MEMFD" },
      { op: "stats" },
      vm,
      vm,
      { op: "destroy_vm", vm: "v" },
      { op: "create_guest_memfd", vm: "v", as: "g", size: 4096 },
    ]);
    assert.is(r.length, 8);
    assert.equal(r.map((x) => x.i), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.type(r[0].error, "string");
    assert.type(r[1].error, "string");
    assert.equal(r[2], { i: 2, ret: 0, value: 1 });
    assert.equal(r[3], { i: 3, unsupported: "stats" });
    assert.equal(r[4], { i: 4, ret: 0 });
    assert.type(r[5].error, "string");
    assert.equal(r[6], { i: 6, ret: 0 });
    assert.equal(r[7], { i: 7, errno: "EBADF" });
  });
}

test.run();
