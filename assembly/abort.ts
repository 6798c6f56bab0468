/**
 * Where asc's abort goes (asconfig.json: "use": ["abort=assembly/abort/coreAbort"]):
 * a trap, so the module needs no imports. Only a broken invariant gets here
 * (an assertion of the debug build, or an allocation past 1 GiB).
 */
export function coreAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  unreachable();
}
