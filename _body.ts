/**
 * Request bodies the session builds itself.
 *
 * @module
 */

/**
 * Serialises a `json` value, or throws a `TypeError` saying why it cannot be.
 *
 * @param value the value to send as JSON
 * @returns its text
 */
export function jsonBody(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    throw new TypeError(
      `The json value cannot be serialised: ${(cause as Error).message}`,
      { cause },
    );
  }
  if (text === undefined) {
    throw new TypeError(`The json value cannot be serialised: ${typeof value}`);
  }
  return text;
}
