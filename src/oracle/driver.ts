/**
 * The kernel oracle's driver: builds oracle/*.c with the machine's `cc`
 * (cached by a hash of the sources) and runs traces on the live kernel in a
 * child process, so that a crash of the oracle is an error of the run and
 * never of the caller.
 *
 * Node only (it spawns processes and reads /dev/kvm).
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseJson } from "../trace/json.js";
import { screenLine } from "../trace/replay.js";

/** One result line of the oracle (SPEC section 5), parsed. */
export type KernelResult = Record<string, unknown>;

export interface Availability {
  ok: boolean;
  reason: string;
}

const SOURCE_NAME = "gmem-oracle.c";

/** The repository root: the nearest ancestor of this module that holds oracle/gmem-oracle.c. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "oracle", SOURCE_NAME))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const cwd = process.cwd();
  if (existsSync(join(cwd, "oracle", SOURCE_NAME))) return cwd;
  throw new Error(`cannot find oracle/${SOURCE_NAME} above ${fileURLToPath(import.meta.url)} or in ${cwd}`);
}

function oracleSources(root: string): string[] {
  const dir = join(root, "oracle");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".c") || f.endsWith(".h"))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Compile the oracle into `.cache/gmem-oracle-<12 hex of sha256(sources)>`,
 * reusing a binary already built from the same sources. Returns its path.
 * Throws with the compiler's output if `cc` fails.
 */
export function buildOracle(): string {
  const root = repoRoot();
  const sources = oracleSources(root);
  const hash = createHash("sha256");
  for (const file of sources) {
    hash.update(file.slice(root.length));
    hash.update("\0");
    hash.update(readFileSync(file));
    hash.update("\0");
  }
  const cacheDir = join(root, ".cache");
  const bin = join(cacheDir, `gmem-oracle-${hash.digest("hex").slice(0, 12)}`);
  if (existsSync(bin)) return bin;
  mkdirSync(cacheDir, { recursive: true });
  // Build beside the target and rename, so that concurrent builds never see a partial binary.
  const tmp = `${bin}.tmp-${process.pid}-${Date.now()}`;
  const cfiles = sources.filter((f) => f.endsWith(".c"));
  const cc = spawnSync("cc", ["-O2", "-Wall", "-Wextra", "-o", tmp, ...cfiles], { encoding: "utf8" });
  if (cc.error || cc.status !== 0) {
    rmSync(tmp, { force: true });
    const why = cc.error ? cc.error.message : `${cc.stderr}${cc.stdout}`.trim();
    throw new Error(`building the kernel oracle with cc failed: ${why}`);
  }
  renameSync(tmp, bin);
  return bin;
}

let availability: Availability | undefined;

/**
 * Whether traces can run on this machine's kernel: /dev/kvm opens, `cc`
 * exists, and the kernel answers KVM_CAP_GUEST_MEMFD with a non-zero value
 * (asked through the oracle itself). The answer is computed once.
 * Setting GMEMSIM_NO_KERNEL in the environment makes it answer "no".
 */
export function kernelAvailability(): Availability {
  if (availability) return availability;
  availability = probe();
  return availability;
}

function probe(): Availability {
  if (process.env.GMEMSIM_NO_KERNEL) {
    return { ok: false, reason: "GMEMSIM_NO_KERNEL is set" };
  }
  try {
    closeSync(openSync("/dev/kvm", "r+"));
  } catch (e) {
    return { ok: false, reason: `/dev/kvm cannot be opened: ${(e as Error).message}` };
  }
  const cc = spawnSync("cc", ["--version"], { encoding: "utf8" });
  if (cc.error || cc.status !== 0) {
    return { ok: false, reason: `no C compiler: cc ${cc.error ? cc.error.message : `exited with ${cc.status}`}` };
  }
  let bin: string;
  try {
    bin = buildOracle();
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  const run = spawnSync(bin, ["-"], {
    input: '{"op":"check_extension","cap":"KVM_CAP_GUEST_MEMFD"}\n',
    encoding: "utf8",
    timeout: 30_000,
  });
  if (run.error || run.status !== 0) {
    return { ok: false, reason: `the oracle failed: ${run.error ? run.error.message : run.stderr.trim()}` };
  }
  let res: KernelResult;
  try {
    res = JSON.parse(run.stdout.trim().split("\n")[0] ?? "");
  } catch {
    return { ok: false, reason: `the oracle printed no result: ${JSON.stringify(run.stdout)}` };
  }
  if (typeof res.value !== "number" || res.value < 1) {
    return { ok: false, reason: `the kernel lacks guest_memfd (KVM_CAP_GUEST_MEMFD: ${JSON.stringify(res)})` };
  }
  return { ok: true, reason: `/dev/kvm with KVM_CAP_GUEST_MEMFD=${res.value}` };
}

/**
 * Run a trace (JSON Lines, SPEC section 5) on the live kernel and return
 * its result lines, one per counted trace line. Rejects with the oracle's
 * standard error if the oracle itself fails (crash, bad exit).
 */
/** What the oracle is given in place of a line the trace reader refuses: a line it answers with an error, changing nothing. */
const REFUSED_LINE = '{"op":"__refused_by_the_trace_reader__"}';

/**
 * Lines the trace reader refuses before running anything (an unknown op or
 * field, "__proto__", a malformed "expect", JSON past the limits) never reach
 * the kernel: the oracle, a separate C reader, would run a misspelt field's
 * line with the field left at 0. Their results are the reader's errors, as in
 * the simulator. Returns the text to run and the refused lines by count.
 */
function screenTrace(traceText: string): { text: string; refused: Map<number, string> } {
  const refused = new Map<number, string>();
  let counted = 0;
  const lines = traceText.split("\n").map((line, n) => {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) return line;
    const why = screenLine(t);
    if (why !== null) refused.set(counted, `line ${n + 1}: ${why}`);
    counted++;
    return why === null ? line : REFUSED_LINE;
  });
  return { text: lines.join("\n"), refused };
}

export function runOnKernel(traceText: string): Promise<KernelResult[]> {
  const { text, refused } = screenTrace(traceText);
  let bin: string;
  try {
    bin = buildOracle();
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["-"], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.stdin.on("error", () => {
      /* the child died before reading everything: reported on close */
    });
    child.on("error", (e) => reject(new Error(`cannot run the kernel oracle ${bin}: ${e.message}`)));
    child.on("close", (code, signal) => {
      const stderr = Buffer.concat(err).toString("utf8").trim();
      if (code !== 0) {
        const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
        reject(new Error(stderr ? `kernel oracle ${how}: ${stderr}` : `kernel oracle ${how}`));
        return;
      }
      const results: KernelResult[] = [];
      for (const line of Buffer.concat(out).toString("utf8").split("\n")) {
        if (!line.trim()) continue;
        try {
          // Exact: the kernel prints 64-bit values (an fstat size of 2^62, an MMIO gpa of 2^64-1) that a double would round.
          results.push({ ...(parseJson(line) as object) } as KernelResult);
        } catch {
          reject(new Error(`kernel oracle printed a line that is not JSON: ${line}`));
          return;
        }
      }
      for (const [i, error] of refused) if (results[i]) results[i] = { i: results[i].i, error };
      resolve(results);
    });
    child.stdin.end(text);
  });
}
