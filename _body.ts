/**
 * The text of a request's `json` body: `JSON.stringify`, refusing what JSON
 * cannot hold instead of sending something else in its place.
 *
 * @module
 */

const CANNOT = "The json value cannot be serialised";

// Keys that can follow a dot in a path; others are written ["like this"].
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** A refusal of ours, told apart from an error a `toJSON` threw. */
class Refused extends TypeError {}

function refuse(what: string): never {
  throw new Refused(`${CANNOT}: ${what}`);
}

function childPath(parent: string, holder: unknown, key: string): string {
  if (Array.isArray(holder)) return `${parent}[${key}]`;
  return IDENTIFIER.test(key)
    ? `${parent}.${key}`
    : `${parent}[${JSON.stringify(key)}]`;
}

function checkScalar(value: unknown, path: string): void {
  const number = value instanceof Number ? value.valueOf() : value;
  if (typeof number === "number" && !Number.isFinite(number)) {
    refuse(`${path} is ${number}, which JSON cannot hold`);
  }
  if (typeof value === "bigint") {
    refuse(`${path} is a BigInt, which JSON cannot hold`);
  }
}

/** `JSON.stringify` with every value it meets checked, knowing where. */
function stringify(value: unknown): string | undefined {
  // Where each object met so far sits. Every position is visited once, so an
  // object whose recorded place is an ancestor of the current one contains
  // itself; the same object in two branches does not.
  const places = new Map<unknown, string>();
  return JSON.stringify(
    value,
    function (this: unknown, key: string, item: unknown) {
      const parent = places.get(this);
      const path = parent === undefined ? "json" : childPath(parent, this, key);
      checkScalar(item, path);
      if (typeof item === "object" && item !== null) {
        const seen = places.get(item);
        if (
          seen !== undefined &&
          (path.startsWith(`${seen}.`) || path.startsWith(`${seen}[`))
        ) refuse(`${path} refers back to ${seen} (a cycle)`);
        places.set(item, path);
      }
      return item;
    },
  );
}

/**
 * Serialises a `json` body as `JSON.stringify` does (`toJSON` honoured;
 * `undefined`, functions and symbols left out of objects, `null` in arrays),
 * but throws a `TypeError` saying where for what JSON cannot hold, which
 * `JSON.stringify` would quietly change or fail on without a place: `NaN`
 * and `±Infinity` (it writes `null`), a `BigInt`, a cycle, and a value that
 * is nothing at all (`undefined`, a function, a symbol). An error thrown by a
 * `toJSON` becomes the `cause` of the `TypeError`.
 *
 * @example
 * ```ts
 * import { jsonBody } from "./_body.ts";
 *
 * jsonBody({ a: [1, 2] }); // '{"a":[1,2]}'
 * // jsonBody({ items: [{ price: NaN }] });
 * // TypeError: … json.items[0].price is NaN, which JSON cannot hold
 * ```
 *
 * @param value the `json` option of a request
 * @returns the JSON text
 */
export function jsonBody(value: unknown): string {
  let text: string | undefined;
  try {
    text = stringify(value);
  } catch (cause) {
    if (cause instanceof Refused) throw cause;
    throw new TypeError(`${CANNOT}: ${(cause as Error)?.message}`, { cause });
  }
  if (text === undefined) {
    refuse(
      `json is ${value === undefined ? "undefined" : `a ${typeof value}`}`,
    );
  }
  return text;
}
