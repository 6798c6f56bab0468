import fc from "fast-check";
const neu = await import("/work/wt-checker/build/node/gmemsim.js");
const traces = fc.sample(neu.traceArbitrary({ maxLength: 60 }), { seed: 3, numRuns: 1500 });
const nops = traces.reduce((a, t) => a + t.length, 0);
function time(opts) { const c0 = process.cpuUsage(); for (const t of traces) { const f = neu.checkTrace(t, opts); if (f) throw new Error(f.detail); } const c = process.cpuUsage(c0); return nops / ((c.user + c.system) / 1e6); }
const best = { inc: 0, end: 0 };
for (let r = 0; r < 6; r++) { best.inc = Math.max(best.inc, time({})); best.end = Math.max(best.end, time({ everyOp: false })); }
console.log("best incremental", best.inc.toFixed(0), "best end-only", best.end.toFixed(0), "checking costs", ((1 / best.inc - 1 / best.end) * 1e6).toFixed(2), "us/op");
