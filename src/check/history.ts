/**
 * The security properties judged on the history alone (SPEC §4: 1, 2, and the
 * fallocate halves of 3 and 4), and what the state checks need of it: the
 * rights each file holds by grants that trace back to an owner, the donations
 * and moves so far, the gmem inodes the kernel layer has open. One forward
 * pass: each event is read once, when it is new. Events are plain data,
 * recorded when their op ran (src/kvm/host.ts, HostEvent).
 */
import type { HostEvent } from "../kvm/host.js";
import { ALL_PERMS, type Perm } from "../kvm/perm.js";
import { violation, type Violation } from "./violation.js";
import { DonationIndex, type Donation } from "./donations.js";

export type { Donation };
export interface Move { readonly src: number; readonly inodes: ReadonlySet<number> }

/** What a batch of new events added. */
export interface HistoryNews {
  donations: Donation[];
  moves: Move[];
  /** gmem inodes opened or freed. */
  inodes: Set<number>;
  /** The system design: VMs that just gave an inode up by gmem_unbind, and the inode. */
  gaveUp: Array<{ readonly vm: number; readonly inode: number }>;
}

const NO_NEWS: HistoryNews = Object.freeze({ donations: [], moves: [], inodes: new Set<number>(), gaveUp: [] });
/** What an owner holds: every right (one set, read only, for every file absent from the grants). */
const OWNER: ReadonlySet<Perm> = new Set(ALL_PERMS);
/** No right (a file a move revoked). */
const NONE: ReadonlySet<Perm> = new Set();
const fmt = (p: Iterable<Perm>) => `[${[...p].join(",")}]`;

export class History {
  /** Rights by file id; a file absent here was made by create_guest_memfd: an owner, with every right. */
  private readonly grants = new Map<number, ReadonlySet<Perm>>();
  readonly donations: Donation[] = [];
  /** Donations by donor file and window. */
  readonly donationsOf = new DonationIndex();
  /** Moved inodes by source VM. */
  readonly moved = new Map<number, Set<number>>();
  /** gmem inodes the kernel layer has open. */
  readonly openInodes = new Set<number>();
  /** The system design (SPEC §2.3): inodes each VM gave up by gmem_unbind while other VMs stayed bound (a donation), by VM. */
  readonly gaveUp = new Map<number, Set<number>>();
  /** Events read so far. */
  private seen = 0;

  private held(file: number): ReadonlySet<Perm> {
    return this.grants.get(file) ?? OWNER;
  }

  /** Whether every event has been read. */
  readAll(events: readonly HostEvent[]): boolean {
    return this.seen === events.length;
  }

  /** Reads the events not read yet, judging each; returns what they added. */
  read(events: readonly HostEvent[], out: Violation[]): HistoryNews {
    if (this.seen === events.length) return NO_NEWS;
    const news: HistoryNews = { donations: [], moves: [], inodes: new Set(), gaveUp: [] };
    for (; this.seen < events.length; this.seen++) this.event(events[this.seen], out, news);
    return news;
  }

  private event(e: HostEvent, out: Violation[], news: HistoryNews): void {
    if (e.kind === "link") {
      // 1. No escalation.
      const extra = e.perm.filter((p) => !e.parentPerm.includes(p));
      if (extra.length)
        out.push(violation("1 no escalation", `@file:${e.file} (@vm:${e.vm}) was linked from @file:${e.parent} with ${fmt(e.perm)}, but @file:${e.parent} held only ${fmt(e.parentPerm)}`));
      const parent = this.held(e.parent);
      this.grants.set(e.file, e.mode === "migrate" ? NONE : new Set(e.perm.filter((p) => parent.has(p))));
      if (e.mode === "donate") {
        const d: Donation = { donor: e.parent, vm: e.parentVm, inode: e.inode, window: e.window };
        this.donations.push(d);
        news.donations.push(d);
        this.donationsOf.add(d);
      }
    } else if (e.kind === "move") {
      // The shared read-only sets: grants are replaced, never changed in place.
      for (const f of e.promoted) this.grants.set(f, OWNER);
      for (const f of e.revoked) this.grants.set(f, NONE);
      let set = this.moved.get(e.src);
      if (!set) this.moved.set(e.src, (set = new Set()));
      for (const i of e.inodes) set.add(i);
      news.moves.push({ src: e.src, inodes: new Set(e.inodes) });
    } else if (e.kind === "inode") {
      if (e.open) this.openInodes.add(e.inode);
      else this.openInodes.delete(e.inode);
      news.inodes.add(e.inode);
    } else if (e.kind === "unbind") {
      if (e.others.length) {
        let set = this.gaveUp.get(e.vm);
        if (!set) this.gaveUp.set(e.vm, (set = new Set()));
        set.add(e.inode);
        news.gaveUp.push({ vm: e.vm, inode: e.inode });
      }
    } else if (e.kind === "bind") {
      // A binding's rights are granted by whoever holds the system fd (the owner there): nothing to judge.
    } else {
      // 2. Owner control: contents destroyed only through rights granted by the owner.
      if (e.op === "punch" && !this.held(e.file).has("punch"))
        out.push(violation("2 owner control", `@file:${e.file} (@vm:${e.vm}) punched pages [${e.range[0]}, ${e.range[1]}) without a punch right granted by the owner`));
      // 3. Donation is final: no fallocate by the donor in the window, ever again.
      for (const d of this.donationsOf.over(e.file, e.range[0], e.range[1]))
        out.push(violation("3 donation is final", `@file:${d.donor} (@vm:${d.vm}) fallocated pages [${e.range[0]}, ${e.range[1]}) of the window [${d.window[0]}, ${d.window[1]}) it donated`));
      // 4. Migration is exclusive: the source touches nothing of the moved inodes.
      if (this.moved.get(e.vm)?.has(e.inode)) out.push(violation("4 migration is exclusive", `source @vm:${e.vm} fallocated moved @inode:${e.inode} through @file:${e.file}`));
    }
  }
}
