/**
 * SHA-512 and SHA-512/256 (FIPS 180-4), for HTTP Digest's `SHA-512-256`
 * only: WebCrypto has SHA-512 but not SHA-512/256, which is not SHA-512 cut
 * short but SHA-512 from other initial values. Digest hashes a few short
 * strings per request, so 64-bit words are plain `bigint`s.
 *
 * The constants are derived as FIPS 180-4 defines them rather than copied:
 * K from the cube roots of the first 80 primes (§4.2.3), SHA-512's initial
 * values from the square roots of the first 8 (§5.3.5), and SHA-512/256's
 * from the IV generation function of §5.3.6.
 *
 * @module
 */

const MASK = (1n << 64n) - 1n;

function firstPrimes(count: number): bigint[] {
  const out: bigint[] = [];
  for (let n = 2; out.length < count; n++) {
    if (out.every((p) => n % Number(p) !== 0)) out.push(BigInt(n));
  }
  return out;
}

/** ⌊x^(1/k)⌋ by Newton's method on integers. */
function integerRoot(x: bigint, k: bigint): bigint {
  let r = 1n << (BigInt(x.toString(2).length) / k + 1n);
  for (;;) {
    const next = ((k - 1n) * r + x / r ** (k - 1n)) / k;
    if (next >= r) return r;
    r = next;
  }
}

/** The first 64 bits of the fractional part of p^(1/k), for each prime p. */
function fractionBits(primes: bigint[], k: bigint): bigint[] {
  return primes.map((p) => integerRoot(p << (64n * k), k) & MASK);
}

function rotr(x: bigint, n: bigint): bigint {
  return ((x >> n) | (x << (64n - n))) & MASK;
}

interface Tables {
  k: bigint[];
  sha512: bigint[];
  sha512_256: bigint[];
}
let tables: Tables | undefined;

function tablesOf(): Tables {
  if (tables !== undefined) return tables;
  const primes = firstPrimes(80);
  const k = fractionBits(primes, 3n);
  const sha512 = fractionBits(primes.slice(0, 8), 2n);
  const seed = sha512.map((h) => h ^ 0xa5a5a5a5a5a5a5a5n);
  const name = new TextEncoder().encode("SHA-512/256");
  tables = { k, sha512, sha512_256: [] };
  tables.sha512_256 = digest(seed, name);
  return tables;
}

function compress(state: bigint[], block: DataView, k: bigint[]): void {
  const w: bigint[] = [];
  for (let t = 0; t < 16; t++) w.push(block.getBigUint64(t * 8));
  for (let t = 16; t < 80; t++) {
    const s0 = rotr(w[t - 15], 1n) ^ rotr(w[t - 15], 8n) ^ (w[t - 15] >> 7n);
    const s1 = rotr(w[t - 2], 19n) ^ rotr(w[t - 2], 61n) ^ (w[t - 2] >> 6n);
    w.push((w[t - 16] + s0 + w[t - 7] + s1) & MASK);
  }
  let [a, b, c, d, e, f, g, h] = state;
  for (let t = 0; t < 80; t++) {
    const s1 = rotr(e, 14n) ^ rotr(e, 18n) ^ rotr(e, 41n);
    const ch = (e & f) ^ (~e & MASK & g);
    const t1 = (h + s1 + ch + k[t] + w[t]) & MASK;
    const s0 = rotr(a, 28n) ^ rotr(a, 34n) ^ rotr(a, 39n);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (s0 + maj) & MASK;
    [h, g, f, e, d, c, b, a] = [
      g,
      f,
      e,
      (d + t1) & MASK,
      c,
      b,
      a,
      (t1 + t2) & MASK,
    ];
  }
  const out = [a, b, c, d, e, f, g, h];
  for (let i = 0; i < 8; i++) state[i] = (state[i] + out[i]) & MASK;
}

/** The final state of SHA-512's compression from `iv` over `data`. */
function digest(iv: bigint[], data: Uint8Array): bigint[] {
  const { k } = tables!;
  // Padding (§5.1.2): a 1 bit, zeros, and the length in bits in 128 bits.
  const length = Math.ceil((data.length + 17) / 128) * 128;
  const padded = new Uint8Array(length);
  padded.set(data);
  padded[data.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setBigUint64(length - 8, BigInt(data.length) * 8n);
  const state = iv.slice();
  for (let at = 0; at < length; at += 128) {
    compress(state, new DataView(padded.buffer, at, 128), k);
  }
  return state;
}

function hex(words: bigint[], bits: number): string {
  return words.map((w) => w.toString(16).padStart(16, "0")).join("")
    .slice(0, bits / 4);
}

/**
 * SHA-512 of some bytes, as 128 lowercase hex digits (the same as
 * WebCrypto's; here to check this module against it).
 *
 * @example
 * ```ts
 * import { sha512Hex } from "./_sha512.ts";
 *
 * sha512Hex(new TextEncoder().encode("abc")).slice(0, 16); // "ddaf35a193617aba"
 * ```
 *
 * @param data the bytes to hash
 * @returns the digest in hex
 */
export function sha512Hex(data: Uint8Array): string {
  return hex(digest(tablesOf().sha512, data), 512);
}

/**
 * SHA-512/256 of some bytes, as 64 lowercase hex digits.
 *
 * @example
 * ```ts
 * import { sha512_256Hex } from "./_sha512.ts";
 *
 * sha512_256Hex(new TextEncoder().encode("abc")).slice(0, 16); // "53048e2681941ef9"
 * ```
 *
 * @param data the bytes to hash
 * @returns the digest in hex
 */
export function sha512_256Hex(data: Uint8Array): string {
  return hex(digest(tablesOf().sha512_256, data), 256);
}
