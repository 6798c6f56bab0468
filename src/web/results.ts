/**
 * The result lines as a virtualised list: only the rows in view exist in the
 * DOM, so 100,000 results scroll as smoothly as ten. One row per op; the
 * selected row follows the player.
 */
import { KINDS, type RunResult } from "./protocol.js";

const ROW = 24;

export interface ResultList {
  show(run: RunResult | null): void;
  select(k: number, scroll: boolean): void;
}

export function makeResultList(root: HTMLElement, onPick: (k: number) => void): ResultList {
  const spacer = document.createElement("div");
  spacer.className = "spacer";
  const rows = document.createElement("div");
  rows.className = "rows";
  spacer.append(rows);
  root.replaceChildren(spacer);
  let run: RunResult | null = null;
  let selected = -1;
  const bad = new Set<number>();

  function render() {
    if (!run) {
      rows.replaceChildren();
      spacer.style.height = "0px";
      return;
    }
    const first = Math.max(0, Math.floor(root.scrollTop / ROW) - 5);
    const last = Math.min(run.n, Math.ceil((root.scrollTop + root.clientHeight) / ROW) + 5);
    rows.style.transform = `translateY(${first * ROW}px)`;
    const out: HTMLElement[] = [];
    for (let k = first; k < last; k++) {
      const kind = KINDS[run.kinds[k]];
      const r = document.createElement("div");
      r.className = `row row-${kind}${k === selected ? " selected" : ""}${bad.has(k) ? " violated" : ""}`;
      r.dataset.i = String(k);
      r.dataset.line = String(run.lines[k]);
      r.dataset.kind = kind;
      r.setAttribute("role", "option");
      r.setAttribute("aria-selected", String(k === selected));
      r.title = run.why[k] ? `${run.json[k]}\n${run.why[k]}` : run.json[k];
      const line = document.createElement("span");
      line.className = "ln";
      line.textContent = String(run.lines[k]);
      const op = document.createElement("code");
      op.className = "op";
      op.textContent = run.ops[k];
      const badge = document.createElement("span");
      badge.className = `kind kind-${kind}`;
      badge.textContent = kind;
      const res = document.createElement("code");
      res.className = "res";
      res.textContent = run.json[k];
      r.append(line, op, badge, res);
      if (bad.has(k)) {
        const w = document.createElement("span");
        w.className = "warn";
        w.textContent = "⚠ check";
        r.append(w);
      }
      out.push(r);
    }
    rows.replaceChildren(...out);
  }

  root.addEventListener("scroll", () => requestAnimationFrame(render), { passive: true });
  new ResizeObserver(() => render()).observe(root);
  root.addEventListener("click", (e) => {
    const r = (e.target as HTMLElement).closest<HTMLElement>(".row");
    if (r) onPick(Number(r.dataset.i));
  });
  root.addEventListener("keydown", (e) => {
    if (!run || !run.n) return;
    const page = Math.max(1, Math.floor(root.clientHeight / ROW) - 1);
    const to = { ArrowDown: selected + 1, ArrowUp: selected - 1, PageDown: selected + page, PageUp: selected - page, Home: 0, End: run.n - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    onPick(Math.max(0, Math.min(run.n - 1, to)));
  });

  return {
    show(r) {
      run = r;
      selected = -1;
      bad.clear();
      for (const v of r?.violations ?? []) bad.add(v.i);
      spacer.style.height = `${(r?.n ?? 0) * ROW}px`;
      root.scrollTop = 0;
      render();
    },
    select(k, scroll) {
      selected = k;
      if (scroll && k >= 0) {
        const top = k * ROW;
        if (top < root.scrollTop || top + ROW > root.scrollTop + root.clientHeight) root.scrollTop = Math.max(0, top - root.clientHeight / 2);
      }
      render();
    },
  };
}
