/**
 * Result lines to standard output in constant memory, however slowly it is
 * read. A write to a pipe is asynchronous (Node's "A note on process I/O"):
 * its bytes must stay as they are until it is done, and a piece the replay
 * lends (a view of a buffer it reuses, replayBinaryJson()) would be
 * overwritten by the next. So each write is waited for before the replay
 * makes more: no copy, and nothing queued but the piece being written. A
 * write that the system takes at once (a file, a pipe with room) is done by
 * the next tick.
 */
export function writeStdout(piece: Uint8Array | string): Promise<void> {
  if (piece.length === 0) return Promise.resolve();
  // An error (a closed pipe) is main.ts's to handle, on the stream's "error" event: the wait ends either way.
  return new Promise((done) => process.stdout.write(piece, () => done()));
}
