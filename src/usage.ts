// How every verb reads its command line: -h/--help prints the verb's help (exit 0); bad usage prints
// one line naming the flag and the form it accepts, then where the help is (exit 2). Never a stack trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DURATION_FORM, parseDuration } from './duration.js';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Bad usage: one line naming the flag (or argument) and the form it accepts. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A verb's command line: its name, its help text and its flags (-h/--help is implied). */
export interface Command<O extends ParseArgsOptionsConfig> {
  verb: string;
  /** printed by --help; a string flag's value form is read from it (`--timeout <duration>`) */
  help: string;
  options: O;
  /** whether the verb takes operands (`logs <service>`) */
  positionals?: boolean;
}

type Parsed<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: boolean; strict: true }>>;

/** node:util parseArgs, its errors turned into one UsageError line each. */
export function parseFlags<O extends ParseArgsOptionsConfig>(command: Command<O>, argv: string[]): Parsed<O> {
  try {
    return parseArgs({ args: argv, options: command.options, allowPositionals: command.positionals ?? false, strict: true });
  } catch (err) {
    throw new UsageError(describeParseError(err as Error & { code?: string }, command));
  }
}

/**
 * Runs a verb's parse: --help answers 0 (whatever else is on the line), a UsageError is printed as one
 * line and answers 2. Callers return the number when they get one.
 */
export function parseOrExit<R>(command: Pick<Command<ParseArgsOptionsConfig>, 'verb' | 'help'>, argv: string[], parse: () => R): R | number {
  const end = argv.indexOf('--');
  if ((end < 0 ? argv : argv.slice(0, end)).some((a) => a === '-h' || a === '--help')) {
    process.stdout.write(command.help + '\n');
    return 0;
  }
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`lgtmp ${command.verb}: ${err.message}; see lgtmp ${command.verb} --help\n`);
    return 2;
  }
}

function describeParseError(err: Error & { code?: string }, command: Command<ParseArgsOptionsConfig>): string {
  // node's messages quote the flag first: "Unknown option '--x'", "Option '-f, --follow' does not take an argument"
  const quoted = /'([^']*)'/.exec(err.message)?.[1] ?? '';
  const flag = quoted.match(/--?[A-Za-z][\w-]*/g)?.at(-1) ?? quoted;
  const flags = [...Object.keys(command.options).map((name) => `--${name}`), '--help'].join(', ');
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${flag} (flags: ${flags})`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const name = flag.replace(/^-+/, '');
      if (command.options[name]?.type === 'boolean' || /does not take an argument/.test(err.message)) return `${flag} takes no value`;
      const form = new RegExp(`--${name} (<[^>]+>)`).exec(command.help)?.[1] ?? '<value>';
      return `${flag} needs a value: ${flag} ${form}`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument "${quoted}" (lgtmp ${command.verb} takes flags only: ${flags})`;
    default:
      return err.message.split('\n')[0]!;
  }
}

/** A duration flag's value in milliseconds. */
export function durationValue(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`${flag} "${text}" is not a duration: use ${DURATION_FORM}`);
  return ms;
}

/** A value that must be one of a known list (a service, a check, a tour). */
export function choiceValue<T extends string>(flag: string, text: string, choices: readonly T[], what: string): T {
  if (!(choices as readonly string[]).includes(text)) throw new UsageError(`${flag} "${text}" is not a known ${what}: use one of ${choices.join(', ')}`);
  return text as T;
}

/** A whole number of at least `min` (e.g. log lines). */
export function countValue(flag: string, text: string, min = 1): number {
  if (!/^\d+$/.test(text) || Number(text) < min) throw new UsageError(`${flag} "${text}" is not a count: use a whole number of at least ${min}`);
  return Number(text);
}

/** An http(s) base URL; its port, when given, must be 1-65535. */
export function urlValue(flag: string, text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    /* reported below */
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.port === '0') {
    throw new UsageError(`${flag} "${text}" is not a URL: use http://host:port (port 1-65535)`);
  }
  return text;
}
