/**
 * Figures from a plotting library: a Vega-Lite specification compiled by
 * vega-lite, rendered to SVG by vega's headless view (no browser, no canvas),
 * and rasterised to PNG by resvg. Development tooling: vega, vega-lite and
 * @resvg/resvg-js are devDependencies, loaded only by `gmemsim bench`.
 */
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export interface Rendered {
  svg: string;
  png: Buffer;
}

/** Renders a Vega-Lite spec to an SVG document and a PNG of the same drawing (2x scale for sharp text). */
export async function renderPlot(spec: TopLevelSpec): Promise<Rendered> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const svg = `<?xml version="1.0" encoding="UTF-8"?>\n${await view.toSVG()}\n`;
  view.finalize();
  const png = new Resvg(svg, { fitTo: { mode: "zoom", value: 2 }, background: "white", font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" } }).render().asPng();
  return { svg, png };
}
