// Standard output written as it is made, for listings too large to hold: process.stdout queues what a
// pipe does not take at once (so memory grows with a slow reader), while these writes wait for the
// reader. A reader that goes away (`| head`) ends the output quietly, as SIGPIPE ends the C tools.
import { writeSync } from 'node:fs';

const EAGAIN_WAIT_MS = 2;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Thrown once the reader of standard output has gone; the command stops and exits 0. */
export class OutputClosed extends Error {
  override readonly name = 'OutputClosed';
}

/** Writes `text` to standard output before returning. Throws OutputClosed when nobody reads it any more. */
export function writeOut(text: string): void {
  let bytes = Buffer.from(text, 'utf8');
  while (bytes.length > 0) {
    let written: number;
    try {
      written = writeSync(1, bytes);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') throw new OutputClosed('standard output was closed');
      if (code !== 'EAGAIN') throw e;
      // A non-blocking pipe that is full: wait for the reader.
      Atomics.wait(sleeper, 0, 0, EAGAIN_WAIT_MS);
      continue;
    }
    bytes = bytes.subarray(written);
  }
}
