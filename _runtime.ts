/**
 * The runtime facts, found out in one place: which runtime this is, its
 * native APIs where it has them, timers that do not keep the process alive,
 * and reading the environment.
 *
 * One rule for the environment: a variable the program may not read (on
 * Deno, without `--allow-env` for it) counts as unset, for every reader.
 * The permission is only queried, so the user is never prompted, and a
 * refusal is never worked around: the session does not choose a proxy from
 * a variable it may not read, nor change its clients because of one. (Deno's
 * own `fetch` reads the proxy variables without asking; it does so for a
 * session's requests as it does for plain `fetch`.)
 *
 * @example
 * ```ts
 * import { readEnv, runtime, unref } from "./_runtime.ts";
 *
 * console.log(runtime, readEnv("HTTPS_PROXY"));
 * unref(setTimeout(() => {}, 1_000));
 * ```
 *
 * @module
 */

/**
 * The runtime's name: `"deno"`, `"bun"`, `"node"`, or `"other"` for one
 * that is none of these (a browser, a worker).
 *
 * @example
 * ```ts
 * import type { RuntimeName } from "./_runtime.ts";
 *
 * const name: RuntimeName = "bun";
 * ```
 */
export type RuntimeName = "deno" | "bun" | "node" | "other";

/**
 * The parts of the `Deno` namespace the library uses.
 *
 * @example
 * ```ts
 * import { deno } from "./_runtime.ts";
 *
 * deno?.createHttpClient({}).close();
 * ```
 */
export interface DenoApi {
  /** `Deno.createHttpClient`: a fetch client of its own (Deno 1.x and 2). */
  createHttpClient?(options: Record<string, unknown>): { close(): void };
  /** `Deno.env`. */
  env: { get(name: string): string | undefined };
  /** `Deno.permissions`, asked without prompting. */
  permissions?: {
    querySync?(descriptor: { name: "env"; variable: string }): {
      state: string;
    };
  };
  /** `Deno.unrefTimer`. */
  unrefTimer?(id: number): void;
}

/**
 * The parts of the `Bun` global the library uses.
 *
 * @example
 * ```ts
 * import { bun } from "./_runtime.ts";
 *
 * if (bun?.FetchSession) new bun.FetchSession({}).close();
 * ```
 */
export interface BunApi {
  /** `Bun.FetchSession`: a fetch client with a connection pool of its own. */
  FetchSession?: new (options: Record<string, unknown>) => {
    fetch(input: string | Request, init?: RequestInit): Promise<Response>;
    close(): void;
  };
}

const g = globalThis as unknown as {
  Deno?: DenoApi;
  Bun?: BunApi;
  process?: {
    env?: Record<string, string | undefined>;
    versions?: { node?: string };
  };
};

/**
 * The `Deno` namespace, on Deno.
 *
 * @example
 * ```ts
 * import { deno } from "./_runtime.ts";
 *
 * console.log(deno !== undefined);
 * ```
 */
export const deno: DenoApi | undefined = g.Deno;

/**
 * The `Bun` global, on Bun.
 *
 * @example
 * ```ts
 * import { bun } from "./_runtime.ts";
 *
 * console.log(bun !== undefined);
 * ```
 */
export const bun: BunApi | undefined = g.Bun;

/**
 * Which runtime this is. Deno and Bun both provide Node's `process` too, so
 * they are recognised first.
 *
 * @example
 * ```ts
 * import { runtime } from "./_runtime.ts";
 *
 * if (runtime === "node") console.log("undici underneath");
 * ```
 */
export const runtime: RuntimeName = deno
  ? "deno"
  : bun
  ? "bun"
  : g.process?.versions?.node
  ? "node"
  : "other";

/**
 * Lets a timer run without keeping the process alive: Node's and Bun's
 * timers have `unref()`, Deno's are numbers given to `Deno.unrefTimer`.
 *
 * @example
 * ```ts
 * import { unref } from "./_runtime.ts";
 *
 * unref(setTimeout(() => console.log("only if something else runs"), 60_000));
 * ```
 *
 * @param timer what `setTimeout` or `setInterval` returned
 */
export function unref(timer: ReturnType<typeof setTimeout>): void {
  const t = timer as unknown as { unref?: () => void };
  if (typeof t.unref === "function") t.unref();
  else if (typeof timer === "number") deno?.unrefTimer?.(timer);
}

/** The variables Deno's env permission was found granted for. */
const granted = new Set<string>();

/** Whether this Deno process may read the variable (asked, never prompted). */
function mayRead(api: DenoApi, name: string): boolean {
  // A grant is remembered, as asking costs more than reading; a refusal is
  // asked again, as the program may be granted the variable later.
  if (granted.has(name)) return true;
  const state = api.permissions?.querySync?.({ name: "env", variable: name })
    .state;
  if (state !== undefined && state !== "granted") return false;
  granted.add(name);
  return true;
}

/**
 * Reads an environment variable: `undefined` when it is unset, and when the
 * program may not read it (the module's one rule). Never prompts.
 *
 * @example
 * ```ts
 * import { readEnv } from "./_proxy.ts";
 *
 * readEnv("HTTPS_PROXY"); // e.g. "http://proxy:3128" or undefined
 * ```
 *
 * @param name the variable's name
 * @returns its value
 */
export function readEnv(name: string): string | undefined {
  try {
    if (deno) return mayRead(deno, name) ? deno.env.get(name) : undefined;
    return g.process?.env?.[name];
  } catch {
    // A Deno without the permissions API throws for a refused variable.
    return undefined;
  }
}
