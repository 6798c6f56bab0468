/**
 * Tables for terminals, rendered by cli-table3: a header row, columns aligned
 * (numbers to the right), borders of plain ASCII so that a log file or a README
 * shows them as the terminal does. The header is bold when colours are on.
 */
import Table from "cli-table3";
import { out } from "./style.js";

export interface Column {
  title: string;
  align?: "left" | "right";
}

export function renderTable(columns: Column[], rows: Array<Array<string | number>>): string {
  const table = new Table({
    head: columns.map((c) => out.bold(c.title)),
    colAligns: columns.map((c) => c.align ?? "left"),
    style: { head: [], border: [], compact: true, "padding-left": 1, "padding-right": 1 },
    chars: { top: "", "top-mid": "", "top-left": "", "top-right": "", bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "", left: "", "left-mid": "", mid: "-", "mid-mid": "+", right: "", "right-mid": "", middle: "|" },
  });
  for (const r of rows) table.push(r.map(String));
  return table.toString();
}
