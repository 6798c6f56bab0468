// The gmemsim playground: runs the trace in the editor with new Simulator().apply(lines)
// from the browser bundle, and shows one row per result line and each VM's counters.

const EXAMPLE = `# gmemsim playground: one op per line (JSON); "#" starts a comment.
# Edit the trace, then Run (or press Ctrl+Enter).

# A VM and a 1 MiB guest_memfd that host userspace may mmap.
{"op": "create_vm", "as": "vm", "type": "default"}
{"op": "create_guest_memfd", "vm": "vm", "as": "g", "size": "0x100000", "flags": ["MMAP", "INIT_SHARED"]}

# Bind it in two memslots: gpa 0 -> file offset 0, gpa 0x100000 -> file offset 0x80000.
{"op": "set_user_memory_region2", "vm": "vm", "slot": 0, "flags": "GUEST_MEMFD", "guest_phys_addr": 0, "memory_size": "0x80000", "guest_memfd": "g", "guest_memfd_offset": 0}
{"op": "set_user_memory_region2", "vm": "vm", "slot": 1, "flags": "GUEST_MEMFD", "guest_phys_addr": "0x100000", "memory_size": "0x80000", "guest_memfd": "g", "guest_memfd_offset": "0x80000"}

# Allocate the whole file; the guest writes 0x5a (90) to a page and reads it back.
{"op": "fallocate", "fd": "g", "mode": "KEEP_SIZE", "offset": 0, "len": "0x100000"}
{"op": "vcpu_access", "vm": "vm", "gpa": "0x1000", "access": "write", "value": 90}
{"op": "vcpu_access", "vm": "vm", "gpa": "0x1000", "access": "read"}
{"op": "vcpu_access", "vm": "vm", "gpa": "0x100000", "access": "read"}
{"op": "stats", "vm": "vm"}

# Punch a hole over both bindings: both SPTEs are zapped and the pages freed.
{"op": "fallocate", "fd": "g", "mode": ["PUNCH_HOLE", "KEEP_SIZE"], "offset": 0, "len": "0x100000"}
{"op": "stats", "vm": "vm"}
{"op": "vcpu_access", "vm": "vm", "gpa": "0x1000", "access": "read"}

# Share the first 64 KiB, read-only, with a second VM, which maps it at its own gpa.
{"op": "create_vm", "as": "vm2", "type": "default"}
{"op": "gmem_link", "fd": "g", "vm": "vm2", "as": "g2", "perm": ["r"], "offset": 0, "len": "0x10000", "mode": "share"}
{"op": "set_user_memory_region2", "vm": "vm2", "slot": 0, "flags": "GUEST_MEMFD", "guest_phys_addr": "0x200000", "memory_size": "0x10000", "guest_memfd": "g2", "guest_memfd_offset": 0}
{"op": "vcpu_access", "vm": "vm", "gpa": "0x1000", "access": "write", "value": 7}
{"op": "vcpu_access", "vm": "vm2", "gpa": "0x201000", "access": "read"}

# vm2 has no "w": its write is a memory-fault exit with EACCES.
{"op": "vcpu_access", "vm": "vm2", "gpa": "0x201000", "access": "write", "value": 1}
# Only the owner's file may punch: EPERM from the policy.
{"op": "fallocate", "fd": "g2", "mode": ["PUNCH_HOLE", "KEEP_SIZE"], "offset": 0, "len": 4096}
# The owner's punch zaps the page in both VMs.
{"op": "fallocate", "fd": "g", "mode": ["PUNCH_HOLE", "KEEP_SIZE"], "offset": 0, "len": "0x10000"}
# A line that cannot run (no "len") is a trace error; the run goes on.
{"op": "fallocate", "fd": "g", "mode": "KEEP_SIZE", "offset": 0}
{"op": "stats", "vm": "vm2"}
`;

const $ = (id) => document.getElementById(id);
const trace = $("trace");
const runButton = $("run");
const status = $("status");

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
}

/** A result line as JSON with a space after each comma and colon, so that it wraps between fields. */
const toJson = (v) => {
  const one = (x) => JSON.stringify(x, (_, y) => (typeof y === "bigint" ? y.toString() : y));
  return `{${Object.entries(v).map(([k, x]) => `${one(k)}: ${Array.isArray(x) ? `[${x.map(one).join(", ")}]` : one(x)}`).join(", ")}}`;
};

/** ok, errno, exit, signal or error: what kind of result line this is. */
function kindOf(r) {
  if ("error" in r) return "error";
  if (r.exit) return "exit";
  if (r.signal) return "signal";
  if (r.errno) return "errno";
  return "ok";
}

function setStatus(text, bad = false) {
  status.textContent = text;
  status.classList.toggle("bad", bad);
}

/** Selects line `lineNo` (1-based) of the editor and scrolls it into view. */
function showLine(lineNo) {
  const lines = trace.value.split("\n");
  const start = lines.slice(0, lineNo - 1).reduce((n, l) => n + l.length + 1, 0);
  trace.focus();
  trace.setSelectionRange(start, start + (lines[lineNo - 1] ?? "").length);
  const lineHeight = parseFloat(getComputedStyle(trace).lineHeight) || 20;
  trace.scrollTop = Math.max(0, (lineNo - 4) * lineHeight);
}

function run(gmemsim) {
  const engine = $("engine").value;
  const kernel = $("kernel").value;
  const lines = trace.value.split("\n");
  // apply() skips blank and comment lines, as a trace file does: map its indexes back to line numbers.
  const lineOf = [];
  const vmNames = [];
  lines.forEach((text, n) => {
    const t = text.trim();
    if (t === "" || t.startsWith("#")) return;
    lineOf.push(n + 1);
    try {
      const op = JSON.parse(t);
      if (op && op.op === "create_vm" && typeof op.as === "string" && !vmNames.includes(op.as)) vmNames.push(op.as);
    } catch {
      // Not JSON: the simulator reports it as a trace error.
    }
  });

  let sim, results, counters, host;
  const t0 = performance.now();
  try {
    sim = new gmemsim.Simulator({ engine, kernel });
    results = sim.apply(lines);
  } catch (e) {
    setStatus(`The simulator failed: ${e && e.message ? e.message : e}`, true);
    return;
  }
  const ms = performance.now() - t0;
  // The counters after the last line: stats ops change nothing.
  counters = sim.apply(vmNames.map((vm) => ({ op: "stats", vm })));
  host = sim.apply([{ op: "stats" }])[0];

  const counts = { ok: 0, errno: 0, exit: 0, signal: 0, error: 0 };
  const rows = results.map((r) => {
    const { i, ...rest } = r;
    const kind = kindOf(r);
    counts[kind]++;
    const lineNo = lineOf[i];
    const jump = el("button", { type: "button", class: "line-link", textContent: String(lineNo), title: `Select line ${lineNo} in the trace` });
    jump.addEventListener("click", () => showLine(lineNo));
    let op = "?";
    try {
      op = JSON.parse(lines[lineNo - 1]).op ?? "?";
    } catch {}
    return el(
      "tr",
      { class: `row-${kind}`, "data-i": String(i), "data-line": String(lineNo), "data-kind": kind },
      el("td", { class: "num" }, jump),
      el("td", { class: "num" }, String(i)),
      el("td", {}, el("code", { textContent: String(op) })),
      el("td", {}, el("span", { class: `kind kind-${kind}`, textContent: kind })),
      el("td", {}, el("code", { textContent: toJson(rest) }), r.message ? el("div", { class: "why", textContent: r.message }) : ""),
    );
  });
  $("results").tBodies[0].replaceChildren(...rows);

  const statRows = vmNames.map((vm, n) => {
    const c = counters[n];
    if (c.errno || c.error) {
      return el("tr", { "data-vm": vm }, el("td", {}, el("code", { textContent: vm })), el("td", { colSpan: 4, textContent: c.errno === "EBADF" ? "closed (EBADF)" : (c.errno ?? c.error) }));
    }
    return el("tr", { "data-vm": vm }, el("td", {}, el("code", { textContent: vm })), ...["sptes", "faults", "zaps", "exits"].map((k) => el("td", { class: "num", "data-stat": k, textContent: String(c[k]) })));
  });
  $("stats").tBodies[0].replaceChildren(...(statRows.length ? statRows : [el("tr", {}, el("td", { colSpan: 5, textContent: "No VM in this trace." }))]));
  $("host-stats").textContent = `Host: ${host.host_pages} gmem page${host.host_pages === 1 ? "" : "s"} allocated.`;

  const parts = Object.entries(counts).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`);
  setStatus(`${results.length} line${results.length === 1 ? "" : "s"} run on ${engine}, kernel ${kernel}, in ${ms.toFixed(1)} ms: ${parts.join(", ") || "nothing to run"}.`);
  document.body.dataset.runs = String(Number(document.body.dataset.runs ?? 0) + 1);
}

async function main() {
  trace.value = EXAMPLE;
  $("example").addEventListener("click", () => {
    trace.value = EXAMPLE;
    trace.focus();
  });
  let gmemsim;
  try {
    gmemsim = await import("/gmemsim.js");
  } catch (e) {
    setStatus(`Could not load /gmemsim.js: ${e && e.message ? e.message : e}`, true);
    return;
  }
  const kernel = $("kernel");
  kernel.replaceChildren(
    ...gmemsim.knownProfileNames().map((name) => el("option", { value: name, selected: name === gmemsim.DEFAULT_PROFILE.name, textContent: name === gmemsim.DEFAULT_PROFILE.name ? `${name} (default)` : name })),
  );
  $("controls").addEventListener("submit", (e) => {
    e.preventDefault();
    run(gmemsim);
  });
  trace.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      run(gmemsim);
    }
  });
  runButton.disabled = false;
  setStatus("Ready. Press Run to run the trace.");
  document.body.dataset.ready = "1";
}

main();
