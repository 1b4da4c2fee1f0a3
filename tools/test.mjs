#!/usr/bin/env node
// The test command: static checks, then the whole suite on Deno, on Bun and
// on Node.
// Ends with one line "N passed, N failed" summed over everything it ran, and
// exits non-zero when anything failed.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
// The groups to run, e.g. "deno", "bun", "node", "checks"; none for all.
import { args as only, bin, root } from "./_cli.mjs";

const env = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };
// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

for (const tool of ["deno", "bun", "node"]) {
  if (!existsSync(bin(tool))) {
    console.error(`${tool} is missing: run \`npm ci\` first`);
    process.exit(2);
  }
}

// The real peers some tests need (tinyproxy, openssl), installed when missing.
if (want("deno") || want("bun") || want("node")) {
  spawnSync("sh", [join(root, "tools", "services.sh")], {
    cwd: root,
    stdio: "inherit",
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
const lines = [];

function run(cmd, args, { echo = true } = {}) {
  const started = Date.now();
  const r = spawnSync(cmd, args, {
    cwd: root,
    env,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    timeout: 30 * 60 * 1000,
  });
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`.replace(ANSI, "");
  if (echo) process.stdout.write(out);
  return { code: r.status ?? 1, out, seconds: (Date.now() - started) / 1000 };
}

function want(group) {
  return only.length === 0 || only.includes(group);
}

function entryPoints() {
  const config = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
  return Object.values(config.exports ?? { ".": "./mod.ts" });
}

if (want("checks")) {
  const deno = bin("deno");
  const checks = [
    ["deno fmt --check", [deno, "fmt", "--check"]],
    ["deno lint", [deno, "lint"]],
    ["deno check", [
      deno,
      "check",
      ...["mod.ts", "tests/", "bench/", "examples/"].filter((p) =>
        existsSync(join(root, p))
      ),
    ]],
    // Every entry point of the package, as JSR documents each of them.
    ["deno doc --lint", [deno, "doc", "--lint", ...entryPoints()]],
    ["deno publish --dry-run", [
      deno,
      "publish",
      "--dry-run",
      "--allow-dirty",
    ]],
  ];
  for (const [name, [cmd, ...args]] of checks) {
    const r = run(cmd, args, { echo: false });
    if (r.code === 0) {
      passed++;
      lines.push(`ok    ${name}`);
    } else {
      failed++;
      lines.push(`FAIL  ${name}`);
      process.stdout.write(`\n--- ${name} failed ---\n${r.out}\n`);
    }
  }
}

if (want("deno")) {
  console.log("\n=== Deno ===");
  const r = run(bin("deno"), ["test", "-A", "tests/"]);
  const m = r.out.match(/(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/);
  const p = m ? Number(m[1]) : 0;
  const f = m ? Number(m[2]) : 0;
  skipped += Number(r.out.match(/\| (\d+) ignored/)?.[1] ?? 0);
  passed += p;
  failed += f + (r.code !== 0 && f === 0 ? 1 : 0);
  lines.push(
    `${r.code === 0 ? "ok  " : "FAIL"}  deno test: ${p} passed, ${f} failed (${
      r.seconds.toFixed(1)
    } s)`,
  );
}

if (want("bun")) {
  console.log("\n=== Bun ===");
  const r = run(bin("bun"), ["test", "--timeout", "60000", "tests/"]);
  const p = Number(r.out.match(/^\s*(\d+) pass$/m)?.[1] ?? 0);
  const f = Number(r.out.match(/^\s*(\d+) fail$/m)?.[1] ?? 0);
  skipped += Number(r.out.match(/^\s*(\d+) skip$/m)?.[1] ?? 0);
  passed += p;
  failed += f + (r.code !== 0 && f === 0 ? 1 : 0);
  lines.push(
    `${r.code === 0 ? "ok  " : "FAIL"}  bun test: ${p} passed, ${f} failed (${
      r.seconds.toFixed(1)
    } s)`,
  );
}

if (want("node")) {
  console.log("\n=== Node ===");
  // The pinned Node (package.json), not the one that runs this script.
  const r = run(bin("node"), [
    "--test",
    "--test-reporter=spec",
    "tests/**/*.test.ts",
  ]);
  const p = Number(r.out.match(/^ℹ pass (\d+)$/m)?.[1] ?? 0);
  const f = Number(r.out.match(/^ℹ fail (\d+)$/m)?.[1] ?? 0) +
    Number(r.out.match(/^ℹ cancelled (\d+)$/m)?.[1] ?? 0);
  skipped += Number(r.out.match(/^ℹ skipped (\d+)$/m)?.[1] ?? 0);
  passed += p;
  failed += f + (r.code !== 0 && f === 0 ? 1 : 0);
  lines.push(
    `${r.code === 0 ? "ok  " : "FAIL"}  node test: ${p} passed, ${f} failed (${
      r.seconds.toFixed(1)
    } s)`,
  );
}

console.log("\n=== Summary ===");
for (const line of lines) console.log(line);
if (skipped > 0) {
  console.log(
    `!!! ${skipped} test(s) SKIPPED: see the messages above (a peer could not be installed?)`,
  );
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
} else console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
