// Starts a real tinyproxy on loopback for the proxy tests, behind a small
// TCP tap that records the head of every request the proxy receives (the
// request line and headers of a plain proxied request or of a CONNECT), so a
// test can prove what went to the proxy. tinyproxy itself is installed by
// tools/services.sh; `tinyproxyMissing` says why it cannot run, if it cannot.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const which = spawnSync("sh", ["-c", "command -v tinyproxy"], {
  encoding: "utf8",
});
/** Why tinyproxy cannot be used, or `undefined` when it can. */
export const tinyproxyMissing: string | undefined = which.status === 0
  ? undefined
  : "!!! tinyproxy is not installed (tools/services.sh could not install it): proxy test SKIPPED";
if (tinyproxyMissing) console.error(tinyproxyMissing);

export interface ProxyHead {
  /** e.g. "GET http://127.0.0.1:1234/x HTTP/1.1" or "CONNECT 127.0.0.1:1234 HTTP/1.1" */
  line: string;
  headers: Record<string, string>;
}

export interface TinyProxy {
  /** `http://127.0.0.1:PORT` of the tap in front of tinyproxy. */
  url: string;
  port: number;
  /** The head of every request the proxy received, in order. */
  heads: ProxyHead[];
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function parseHead(text: string): ProxyHead {
  const [line, ...rest] = text.split("\r\n");
  const headers: Record<string, string> = {};
  for (const h of rest) {
    const at = h.indexOf(":");
    if (at > 0) {
      headers[h.slice(0, at).trim().toLowerCase()] = h.slice(at + 1).trim();
    }
  }
  return { line, headers };
}

export async function startTinyproxy(
  options: { auth?: [string, string] } = {},
): Promise<TinyProxy> {
  const dir = mkdtempSync(join(tmpdir(), "fetchkit-tinyproxy-"));
  const port = await freePort();
  const conf = [
    `Port ${port}`,
    "Listen 127.0.0.1",
    "Timeout 30",
    "Allow 127.0.0.1",
    "MaxClients 100",
    "LogLevel Info",
    // No ConnectPort line: CONNECT is allowed to any port of the loopback
    // origins the tests start.
    ...(options.auth
      ? [`BasicAuth ${options.auth[0]} ${options.auth[1]}`]
      : []),
  ].join("\n");
  writeFileSync(join(dir, "tinyproxy.conf"), conf + "\n");
  const child = spawn("tinyproxy", ["-d", "-c", join(dir, "tinyproxy.conf")], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) =>
    child.on("exit", () => resolve())
  );
  await new Promise<void>((resolve, reject) => {
    let log = "";
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("Accepting connections")) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on(
      "exit",
      (code) => reject(new Error(`tinyproxy exited (${code}): ${log}`)),
    );
    child.on("error", reject);
  });

  const heads: ProxyHead[] = [];
  const sockets = new Set<net.Socket>();
  const tap = net.createServer((client) => {
    sockets.add(client);
    const upstream = net.connect(port, "127.0.0.1");
    sockets.add(upstream);
    let buffered = "";
    let tunnel = false;
    // Records every request head on the connection until it becomes a
    // CONNECT tunnel (after which the bytes are the client's TLS).
    client.on("data", (chunk: Buffer) => {
      if (!tunnel) {
        buffered += chunk.toString("latin1");
        let end;
        while (!tunnel && (end = buffered.indexOf("\r\n\r\n")) !== -1) {
          const head = parseHead(buffered.slice(0, end));
          heads.push(head);
          buffered = "";
          if (head.line.startsWith("CONNECT ")) tunnel = true;
        }
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => client.write(chunk));
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => sockets.delete(client));
    upstream.on("close", () => sockets.delete(upstream));
  });
  await new Promise<void>((resolve) => tap.listen(0, "127.0.0.1", resolve));
  const tapPort = (tap.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${tapPort}`,
    port: tapPort,
    heads,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => tap.close(() => resolve()));
      child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
