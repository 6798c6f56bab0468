/** Read-only plain-data views of kernel objects, the only thing policies see: the kernel layer's adapter to its policy. */
import { SystemGmem, type GmemFile, type Vm } from "./objects.js";
import { permList } from "./perm.js";
import type { FileView, ForeignRequest, SystemFileView, VmView } from "../policy/types.js";

/** Slots of a host's view cache: a power of two, so that a file's id picks its slot with a mask. */
const VIEW_SLOTS = 1024;

/**
 * The file views a host made, by file, direct-mapped on the file's id: policies
 * are asked on hot paths (every fallocate), so a file's view is made once and
 * reused until the file changes. Per host, not per file: a view on each file
 * would be a third of a file's JavaScript bytes, for files that are mostly
 * never asked about; here the cost is bounded by the slots, and two files
 * sharing a slot only remake their views.
 */
export class ViewCache {
  /**
   * Dense arrays grown on demand up to VIEW_SLOTS (a slot past the end reads
   * undefined, a miss): most hosts hold a few files, so a new host (one per
   * fuzzed trace) pays for the slots its files use, not for all 1024.
   */
  private readonly files: Array<GmemFile | SystemGmem | null> = [];
  private readonly views: Array<FileView | null> = [];
  /** A pure question's answer about each kept view (wholeAnswer()): undefined until asked, dropped with the view. */
  private readonly answers: Array<boolean | undefined> = [];

  get(f: GmemFile | SystemGmem): FileView {
    // A detached view of the implicit bind (id -1) lives for one call: not kept.
    if (f.id < 0) return plainFileView(f);
    const k = f.id & (VIEW_SLOTS - 1);
    // Identity, not id: another file sharing the slot remakes its view.
    if (this.files[k] === f) return this.views[k]!;
    const view = plainFileView(f);
    for (let n = this.files.length; n < k; n++) {
      this.files.push(null);
      this.views.push(null);
      this.answers.push(undefined);
    }
    this.files[k] = f;
    this.views[k] = view;
    this.answers[k] = undefined;
    return view;
  }

  /**
   * ask(view) for f's view, asked once per view: for a pure function of the
   * view alone (gmemsim's own policy's answer about the whole file), which a
   * fallocate would otherwise ask per call.
   */
  wholeAnswer<C>(f: GmemFile | SystemGmem, ask: (ctx: C, f: GmemFile | SystemGmem, view: FileView) => boolean, ctx: C): boolean {
    const view = this.get(f);
    if (f.id < 0) return ask(ctx, f, view);
    const k = f.id & (VIEW_SLOTS - 1);
    let a = this.answers[k];
    if (a === undefined) a = this.answers[k] = ask(ctx, f, view);
    return a;
  }

  /** Forgets f's view: it changed, or it is gone (so that the cache keeps no released file alive). */
  drop(f: GmemFile | SystemGmem): void {
    if (f.id < 0) return;
    const k = f.id & (VIEW_SLOTS - 1);
    if (this.files[k] === f) {
      this.files[k] = null;
      this.views[k] = null;
      this.answers[k] = undefined;
    }
  }
}

/** Call after changing a file's permissions, window, donations or migration state. */
export function invalidateView(h: { readonly viewCache: ViewCache }, f: GmemFile | SystemGmem): void {
  h.viewCache.drop(f);
}

/** The file's view, made once and kept by the host until the file changes (policies are asked on hot paths). */
export function fileView(h: { readonly viewCache: ViewCache }, f: GmemFile | SystemGmem): FileView {
  return h.viewCache.get(f);
}

/**
 * A file's view as the cache keeps it, not frozen: every request that carries it goes through askPolicy() or askForeign(), which
 * deeply freezes what any policy but gmemsim's own is shown (so a cached view is frozen from the first time such a
 * policy sees it), and gmemsim's own policy only reads. Object.freeze is a call into the runtime (~0.2 us each, four
 * or more per view), and a fuzzed trace makes its files' views anew.
 *
 * Its donated windows are the file's own list, not a copy: a donation adds to that list in place only while no one
 * has frozen it, and replaces a frozen one (addRange(), src/ranges.ts), so a view a policy was shown frozen keeps
 * what it showed, and gmemsim's own policy, which reads a view and lets it go, costs no copy of the windows.
 */
function plainFileView(f: GmemFile | SystemGmem): FileView {
  return {
    id: f.id,
    vm: f instanceof SystemGmem ? -1 : f.vm.id,
    inode: f.inode.id,
    perm: permList(f.perm),
    owner: f.owner,
    origin: f.origin,
    parent: f.parent ? f.parent.id : null,
    migrating: f.migrating,
    window: [f.window[0], f.window[1]] as const,
    donated: f.donated,
  };
}

/** The foreign hook's request (asked once per new file, by askForeign(), which freezes it for any policy but gmemsim's own). */
export function foreignRequest(f: GmemFile): ForeignRequest {
  return { file: plainFileView(f), vm: vmView(f.vm) };
}

/** A VM as policies see it (made per request; askPolicy() freezes it for any policy but gmemsim's own). */
export function vmView(v: Vm): VmView {
  return { id: v.id, type: v.type, ctx: v.ctx, contextMovedAway: v.contextMovedAway };
}

/**
 * A system-design fd, with the VMs bound to it (made per request; askPolicy() freezes it for a policy not gmemsim's
 * own): its lists are the fd's own, kept as bindings change (SystemGmem.boundList), not walked per request.
 */
export function systemFileView(s: SystemGmem): SystemFileView {
  return { id: s.id, inode: s.inode.id, flags: s.inode.flags, bound: s.boundList, unbound: s.unboundList };
}
