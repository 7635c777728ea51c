// A small getopt: each command declares its options; unknown options and missing values are usage
// errors (exit status 2), as with the iptables tools.

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface OptionSpec {
  /** The key in the parsed result, e.g. 'table'. */
  key: string;
  /** Long form without dashes, e.g. 'table'. */
  long: string;
  /** Short form without the dash, e.g. 't'. */
  short?: string;
  /** Takes a value (`-t nat`, `--table=nat`); otherwise a flag. */
  value?: boolean;
  /** What the option does, for --help. */
  help: string;
  /** Placeholder for the value in --help. */
  meta?: string;
}

export interface Parsed {
  options: Record<string, string | boolean>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): Parsed {
  const options: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (eq >= 0) inline = arg.slice(eq + 1);
      spec = specs.find((s) => s.long === name);
      if (!spec) throw new UsageError(`unknown option --${name}`);
    } else if (arg.startsWith('-') && arg.length > 1) {
      // ipset's own single-dash long options (-exist) are accepted as their long form.
      spec = specs.find((s) => s.short === arg.slice(1)) ?? specs.find((s) => s.long === arg.slice(1));
      // A negative number is a value, not an option (-6 is an option where a command has it).
      if (!spec && /^-\d/.test(arg)) {
        positionals.push(arg);
        continue;
      }
      if (!spec) throw new UsageError(`unknown option ${arg}`);
    } else {
      positionals.push(arg);
      continue;
    }
    if (spec.value) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`option --${spec.long} needs a value`);
      options[spec.key] = v;
    } else {
      if (inline !== undefined) throw new UsageError(`option --${spec.long} takes no value`);
      options[spec.key] = true;
    }
  }
  return { options, positionals };
}

/** The help lines for a list of options. */
export function optionHelp(specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const names = `${s.short ? `-${s.short}, ` : '    '}--${s.long}${s.value ? ` ${s.meta ?? 'VALUE'}` : ''}`;
    return [names, s.help] as const;
  });
  const width = Math.max(...rows.map(([n]) => n.length));
  return rows.map(([n, h]) => `  ${n.padEnd(width)}  ${h}`).join('\n');
}

/** The longest wait a Node timer keeps (2^31-1 ms, about 24.8 days); a longer one would fire at once. */
export const MAX_TIMER_SECONDS = 2_147_483.647;

/** A count option (a whole decimal number of at least `min`), checked. */
export function countOption(value: string | boolean | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined || value === false) return fallback;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} needs a whole number of at least ${min}, got \`${String(value)}'`);
  return n;
}

/** A duration option in seconds (decimal, e.g. 0.5), checked against `min` and what a timer can wait. */
export function secondsOption(value: string | boolean | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined || value === false) return fallback;
  const n = typeof value === 'string' && /^(\d+(\.\d*)?|\.\d+)$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= MAX_TIMER_SECONDS)) {
    throw new UsageError(
      `--${name} needs a number of seconds from ${min} to ${MAX_TIMER_SECONDS} (about 24.8 days), got \`${String(value)}'`,
    );
  }
  return n;
}
