/**
 * gmemsim serve [--port N] [--host 127.0.0.1]
 *
 * The browser playground: a small node:http server, on the loopback address only,
 * serving web/, the page's bundles (build/web: the page and its simulator worker),
 * the browser bundle (build/browser/gmemsim.js, the wasm embedded), and the
 * example scenarios and policies the package ships (examples/).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { readdir, readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { die, parse } from "./args.js";

const USAGE = "gmemsim serve [--port N] [--host 127.0.0.1]";
export const DEFAULT_PORT = 8180;

// Both src/cli/serve.ts (under tsx) and build/node/cli.js (the bundle) sit two levels below the package root.
const root = new URL("../../", import.meta.url);

/** Every path the server answers, and nothing else: no directory is exposed. */
const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "web/index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "web/index.html", type: "text/html; charset=utf-8" },
  "/playground.js": { file: "build/web/playground.js", type: "text/javascript; charset=utf-8" },
  "/playground.js.map": { file: "build/web/playground.js.map", type: "application/json; charset=utf-8" },
  "/worker.js": { file: "build/web/worker.js", type: "text/javascript; charset=utf-8" },
  "/worker.js.map": { file: "build/web/worker.js.map", type: "application/json; charset=utf-8" },
  "/style.css": { file: "web/style.css", type: "text/css; charset=utf-8" },
  "/gmemsim.js": { file: "build/browser/gmemsim.js", type: "text/javascript; charset=utf-8" },
  "/gmemsim.js.map": { file: "build/browser/gmemsim.js.map", type: "application/json; charset=utf-8" },
};

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  // The bundle instantiates its embedded wasm ('wasm-unsafe-eval'); a policy pasted into the page is
  // imported in the worker from a blob: URL; CodeMirror sets inline styles on its elements.
  "content-security-policy": "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' blob:; worker-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  "cache-control": "no-store",
};

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, head = false): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), ...SECURITY_HEADERS });
  res.end(head ? undefined : body);
}

async function handle(req: IncomingMessage, res: ServerResponse, port: () => number): Promise<void> {
  // Loopback only, and only under a loopback name: a page elsewhere cannot reach us by DNS rebinding.
  const hostHeader = req.headers.host ?? "";
  if (hostHeader !== `127.0.0.1:${port()}` && hostHeader !== `localhost:${port()}`) {
    return send(res, 421, "text/plain; charset=utf-8", "gmemsim serve answers only to 127.0.0.1 and localhost\n");
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    return send(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
  }
  const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
  const listed = await exampleEntry(path);
  if (listed) return send(res, 200, listed.type, listed.body, req.method === "HEAD");
  const entry = FILES[path];
  if (!entry) return send(res, 404, "text/plain; charset=utf-8", `not found: ${path}\n`, req.method === "HEAD");
  let body: Buffer;
  try {
    body = await readFile(new URL(entry.file, root));
  } catch {
    const hint = entry.file.startsWith("build/") ? " (run `npm run build`)" : "";
    return send(res, 500, "text/plain; charset=utf-8", `missing ${entry.file}${hint}\n`, req.method === "HEAD");
  }
  send(res, 200, entry.type, body, req.method === "HEAD");
}

/**
 * The examples the package ships: /scenarios/index.json lists examples/scenarios/*.jsonl
 * (title: the first comment line; policy: a "# policy: FILE" line), /policies/index.json
 * lists examples/policies/*.mjs, and each is served by its plain file name only.
 */
async function exampleEntry(path: string): Promise<{ type: string; body: string | Buffer } | null> {
  const m = /^\/(scenarios|policies)\/([A-Za-z0-9][A-Za-z0-9._-]*)$/.exec(path);
  if (!m) return null;
  const [, dir, name] = m;
  const ext = dir === "scenarios" ? ".jsonl" : ".mjs";
  const folder = new URL(`examples/${dir}/`, root);
  const names = (await readdir(folder).catch(() => [] as string[])).filter((f) => f.endsWith(ext)).sort();
  if (name === "index.json") {
    if (dir === "policies") return { type: "application/json; charset=utf-8", body: JSON.stringify(names) };
    const list = await Promise.all(
      names.map(async (file) => {
        const text = await readFile(new URL(file, folder), "utf8");
        const title = /^#\s*(.+)$/m.exec(text)?.[1] ?? file;
        const policy = /^#\s*policy:\s*(\S+)\s*$/m.exec(text)?.[1] ?? null;
        return { file, title, policy };
      }),
    );
    return { type: "application/json; charset=utf-8", body: JSON.stringify(list) };
  }
  if (!names.includes(name)) return null;
  const body = await readFile(new URL(name, folder));
  return { type: dir === "scenarios" ? "text/plain; charset=utf-8" : "text/javascript; charset=utf-8", body };
}

export interface Playground {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts the playground server on 127.0.0.1 (port 0: any free port). */
export function startServer(port = DEFAULT_PORT, host = "127.0.0.1"): Promise<Playground> {
  if (host !== "127.0.0.1") throw new Error(`the playground listens on 127.0.0.1 only, not on "${host}"`);
  let bound = port;
  const server = createServer((req, res) => {
    handle(req, res, () => bound).catch((e) => {
      if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", `internal error: ${(e as Error).message}\n`);
      else res.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      bound = (server.address() as { port: number }).port;
      resolve({
        server,
        port: bound,
        url: `http://127.0.0.1:${bound}/`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

export async function serveCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { port: { type: "string", default: String(DEFAULT_PORT) }, host: { type: "string", default: "127.0.0.1" } }, USAGE);
  if (positionals.length) die(`serve takes no arguments\nusage: ${USAGE}`);
  const host = String(values.host);
  if (host !== "127.0.0.1") die(`the playground listens on 127.0.0.1 only, not on "${host}": it runs whatever trace its page is given`);
  const portText = String(values.port);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) die(`--port must be an integer from 0 to 65535, not "${portText}"`);
  if (!existsSync(new URL("build/browser/gmemsim.js", root)) || !existsSync(new URL("build/web/playground.js", root))) die("the playground's bundles are missing (build/browser, build/web); run `npm run build` first");

  let pg: Playground;
  try {
    pg = await startServer(port, host);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "EADDRINUSE") die(`port ${port} is in use; pick another with --port N (0: any free port)`);
    die(`cannot listen on ${host}:${port}: ${err.message}`);
  }
  console.log(`gmemsim playground: ${pg.url}  (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await pg.close();
  console.log("gmemsim playground: stopped");
  return 0;
}
