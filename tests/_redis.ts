// Starts a throwaway redis-server on a free loopback port, in memory only,
// for one test; `await using` stops it. The binary comes from Debian's
// redis-server package, which tools/services.sh installs.
import { spawn } from "node:child_process";
import { createServer } from "node:net";

export interface RedisServer extends AsyncDisposable {
  url: string;
  port: number;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function attempt(port: number): Promise<RedisServer | undefined> {
  const child = spawn("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--loglevel",
    "notice",
  ], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => resolve())
  );
  let log = "";
  const ready = await new Promise<boolean>((resolve, reject) => {
    child.once("error", (error) =>
      reject(
        new Error(
          `Cannot start redis-server (${error.message}): run tools/services.sh`,
        ),
      ));
    child.stdout!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("Ready to accept connections")) resolve(true);
    });
    child.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
    child.once("exit", () => resolve(false));
  });
  if (!ready) {
    // Another process took the port between the probe and the start.
    if (/Address already in use/.test(log)) return undefined;
    throw new Error(`redis-server did not start:\n${log}`);
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
    }
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

export async function startRedis(): Promise<RedisServer> {
  for (let i = 0; i < 5; i++) {
    const server = await attempt(await freePort());
    if (server) return server;
  }
  throw new Error("redis-server: no free port after 5 attempts");
}
