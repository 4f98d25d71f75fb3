/**
 * Parses a command's arguments. Bad usage prints the error and the help to stderr (exit 2); --help prints the
 * help to stdout (exit 0); both answer with the exit code instead of the arguments.
 */
export function parseOrExit<T extends { help: boolean }>(command: string, help: string, parse: () => T): Exclude<T, { help: true }> | number {
  let args: T;
  try {
    args = parse();
  } catch (err) {
    process.stderr.write(`lgtmp ${command}: ${err instanceof Error ? err.message : String(err)}\n\n${help}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(help + '\n');
    return 0;
  }
  return args as Exclude<T, { help: true }>;
}
