/**
 * gmemsim/debug: the engine built with AssemblyScript's assertions on, for
 * chasing a suspected engine bug (`new Simulator({ core: debugCore() })`): an
 * internal inconsistency stops with an assertion error where the release
 * build would go on. It carries a second, larger copy of the wasm, which is
 * why it has a subpath of its own.
 */
import type { Core } from "./core/core.js";
import { EngineCore, registerDebugWasm } from "./core/engine.js";
import { WASM_DEBUG_BASE64 } from "./core/wasm-debug.generated.js";

registerDebugWasm(WASM_DEBUG_BASE64);

/** A new engine core running the debug build of the wasm. */
export function debugCore(): Core {
  return new EngineCore("debug");
}
