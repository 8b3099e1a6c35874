/** One verb of the `klaxon` CLI: `klaxon <name> [args]`. Returns the exit code. */
export interface Command {
  name: string;
  /** One line per usage form, as shown by `klaxon help`. */
  usage: string[];
  run(args: string[], out: Console): Promise<number>;
}

/** `--name value` and `--flag` options after the positional arguments. */
export function parseOptions(args: string[]): { positional: string[]; options: Record<string, string | true> } {
  const positional: string[] = [];
  const options: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split('=', 2);
    if (inline !== undefined) options[name] = inline;
    else if (args[i + 1] !== undefined && !args[i + 1].startsWith('--')) options[name] = args[++i];
    else options[name] = true;
  }
  return { positional, options };
}
