// What every script in tools/ starts from: the checkout, its pinned
// binaries (deno, bun, node from node_modules), and the command line.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout these tools belong to. */
export const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** A binary the lock file pinned, by name. */
export const bin = (name) => join(root, "node_modules", ".bin", name);

/** The script's arguments. */
export const args = process.argv.slice(2);

/** Whether a flag was given. */
export const flag = (name) => args.includes(name);

/** The value after an option, or `fallback` when it was not given. */
export const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};

/** The values after every use of a repeatable option. */
export const every = (name) =>
  args.flatMap((a, i) => a === name && args[i + 1] ? [args[i + 1]] : []);
