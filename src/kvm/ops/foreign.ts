/**
 * A new gmem file's answer to pages prepared under another VM's context
 * (SPEC §2.3, both designs): the policy's `foreign` hook, asked once when the
 * file is made (create_guest_memfd, gmem_link, a system binding) and handed
 * to the core, so that the fault path never asks it. An extension of gmemsim.
 */
import * as A from "../../abi/core-abi.js";
import type { Host } from "../host.js";
import type { GmemFile } from "../objects.js";
import { askForeign } from "../ask.js";
import { foreignRequest } from "../views.js";

export function setForeignMode(h: Host, file: GmemFile): void {
  const mode = askForeign(h, foreignRequest(file));
  if (mode !== "map") h.core.push(A.OP_FILE_SET_FOREIGN, file.id, mode === "zero" ? A.FOREIGN_ZERO : A.FOREIGN_REFUSE);
}
