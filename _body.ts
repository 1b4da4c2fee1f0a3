/**
 * The text of a request's `json` body: `JSON.stringify`, refusing what JSON
 * cannot hold instead of sending something else in its place.
 *
 * @module
 */

// Keys that can follow a dot in a path; others are written ["like this"].
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function childPath(parent: string, holder: unknown, key: string): string {
  if (Array.isArray(holder)) return `${parent}[${key}]`;
  return IDENTIFIER.test(key)
    ? `${parent}.${key}`
    : `${parent}[${JSON.stringify(key)}]`;
}

function refuse(what: string): never {
  throw new TypeError(`The json value cannot be serialised: ${what}`);
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

/**
 * Serialises a `json` body as `JSON.stringify` does (`toJSON` honoured,
 * `undefined`, functions and symbols left out of objects and `null` in
 * arrays), but throws a `TypeError` saying where for what JSON cannot hold
 * and `JSON.stringify` would quietly change or fail on: `NaN` and
 * `±Infinity` (which it sends as `null`), a `BigInt`, a cycle, and a value
 * that is nothing at all (`undefined`, a function or a symbol).
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
  // Where each object met so far sits. Every position is visited once, so an
  // object whose recorded place is an ancestor of the current one contains
  // itself; the same object in two branches does not.
  const places = new Map<unknown, string>();
  const text = JSON.stringify(
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
  if (text === undefined) {
    refuse(
      `json is ${value === undefined ? "undefined" : `a ${typeof value}`}`,
    );
  }
  return text;
}
