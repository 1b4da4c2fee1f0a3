// SHA-512 and SHA-512/256 of _sha512.ts against the examples of FIPS 180-4
// (as published by NIST's Cryptographic Standards and Guidelines), and
// against WebCrypto and node:crypto on every length around a block boundary.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { sha512_256Hex, sha512Hex } from "../_sha512.ts";

const encode = (text: string) => new TextEncoder().encode(text);
const TWO_BLOCKS =
  "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

test("sha512: the FIPS 180-4 examples", () => {
  assert.equal(
    sha512Hex(encode("abc")),
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
  );
  assert.equal(
    sha512Hex(encode("")),
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
  );
  assert.equal(
    sha512Hex(encode(TWO_BLOCKS)),
    "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
  );
});

test("sha512: SHA-512/256, the FIPS 180-4 examples (not SHA-512 cut short)", () => {
  assert.equal(
    sha512_256Hex(encode("abc")),
    "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23",
  );
  assert.equal(
    sha512_256Hex(encode("")),
    "c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a",
  );
  assert.equal(
    sha512_256Hex(encode(TWO_BLOCKS)),
    "3928e184fb8690f840da3988121d31be65cb9d3ef83ee6146feac861e19b563a",
  );
  assert.notEqual(
    sha512_256Hex(encode("abc")),
    sha512Hex(encode("abc")).slice(0, 64),
  );
});

test("sha512: every length from 0 to 300 bytes agrees with WebCrypto and node:crypto", async () => {
  const bytes = new Uint8Array(300);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + 7) & 0xff;
  for (let n = 0; n <= bytes.length; n++) {
    const data = bytes.subarray(0, n);
    const web = new Uint8Array(await crypto.subtle.digest("SHA-512", data));
    assert.equal(sha512Hex(data), Buffer.from(web).toString("hex"), `n=${n}`);
    assert.equal(
      sha512_256Hex(data),
      createHash("sha512-256").update(data).digest("hex"),
      `n=${n}`,
    );
  }
});
