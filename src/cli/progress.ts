// Progress lines for long operations, on stderr so that stdout stays the command's data (a restore can
// be piped, a save redirected). Shown on a terminal, or everywhere with --progress; never with --quiet.
import type { Parsed } from './args.js';
import { count } from './format.js';

export class Progress {
  readonly enabled: boolean;
  #started = 0;
  #label = '';

  constructor(args: Parsed) {
    this.enabled = args.options.quiet !== true && (args.options.progress === true || process.stderr.isTTY === true);
  }

  /** Starts a step: `iptc: [1/3] filter: 1,600 rules ...`. */
  step(index: number, total: number, label: string, items?: number, unit = 'rules'): void {
    this.#label = `[${index}/${total}] ${label}${items === undefined ? '' : `: ${count(items)} ${unit}`}`;
    this.#started = performance.now();
    if (this.enabled) process.stderr.write(`iptc: ${this.#label} ...${process.stderr.isTTY ? '' : '\n'}`);
  }

  /** Ends the step with its duration. */
  done(): void {
    if (!this.enabled) return;
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(2);
    // On a terminal the step line is completed in place; in a log each state gets its own line.
    process.stderr.write(process.stderr.isTTY ? ` done (${seconds} s)\n` : `iptc: ${this.#label} done (${seconds} s)\n`);
  }

  /** Ends the step as failed (the error itself is printed by main). */
  failed(): void {
    if (this.enabled && process.stderr.isTTY) process.stderr.write(' failed\n');
  }
}
