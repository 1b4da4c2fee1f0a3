// The benchmarks' local server, shared by tools/bench.mjs (Node) and
// bench/*.bench.ts (Deno). nginx when the machine has it, so that the
// server's own cost is small and steady; a node:http server otherwise. Both
// answer the same three paths with a tiny body:
//   /plain  no cookie
//   /live   Set-Cookie: sid=…; Path=/ on every response (the session cookie a
//           server refreshes each time, which the next request sends back)
//   /rotate Set-Cookie with a new value on every response
import { spawn, spawnSync } from "node:child_process";
import process from "node:process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const LIVE_COOKIE = "sid=7f3a9c2e1b5d4f60a8e2c4b6d8f0a1c3";

const NGINX_CANDIDATES = ["/usr/sbin/nginx", "/usr/bin/nginx"];

/** The nginx binary, or undefined. */
export function findNginx() {
  for (const path of NGINX_CANDIDATES) {
    const r = spawnSync(path, ["-v"], { stdio: "ignore" });
    if (r.status === 0) return path;
  }
  return undefined;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function waitForPort(port, deadline) {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) {
          reject(new Error(`nothing listens on 127.0.0.1:${port}`));
        } else setTimeout(attempt, 20);
      });
    };
    attempt();
  });
}

function nginxConfig(dir, port) {
  // One worker: the machine has two cores and the client needs the other.
  // keepalive_requests is raised so that nginx never closes a connection
  // mid-run (its default of 1000 would make every contender reconnect).
  return `
worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log crit;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  default_type text/plain;
  server {
    listen 127.0.0.1:${port} reuseport;
    location = /plain { return 200 "ok\\n"; }
    location = /live {
      add_header Set-Cookie "${LIVE_COOKIE}; Path=/" always;
      return 200 "ok\\n";
    }
    location = /rotate {
      add_header Set-Cookie "n=$request_id; Path=/" always;
      return 200 "ok\\n";
    }
    location / { return 404 "no\\n"; }
  }
}
`;
}

async function startNginx(binary) {
  const dir = mkdtempSync(join(tmpdir(), "fetchkit-bench-nginx-"));
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    writeFileSync(join(dir, "nginx.conf"), nginxConfig(dir, port));
    const child = spawn(binary, ["-p", dir, "-c", join(dir, "nginx.conf")], {
      stdio: "ignore",
    });
    let exited = false;
    const gone = new Promise((resolve) =>
      child.once("exit", () => {
        exited = true;
        resolve();
      })
    );
    try {
      await waitForPort(port, Date.now() + 5_000);
    } catch {
      if (!exited) child.kill("SIGKILL");
      await gone;
      continue;
    }
    if (exited) continue;
    // A bench that dies before close() (an uncaught error, process.exit)
    // takes its nginx with it rather than leave it running.
    const orphaned = () => {
      if (!exited) child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    };
    process.once("exit", orphaned);
    // Deno.exit() skips Node's "exit" event but dispatches "unload".
    if (globalThis.Deno) globalThis.addEventListener("unload", orphaned);
    return {
      kind: "nginx",
      url: `http://127.0.0.1:${port}`,
      async close() {
        process.off("exit", orphaned);
        if (globalThis.Deno) {
          globalThis.removeEventListener("unload", orphaned);
        }
        if (!exited) {
          child.kill("SIGQUIT");
          await gone;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  return undefined;
}

async function startNode() {
  let n = 0;
  const server = http.createServer((req, res) => {
    res.setHeader("content-type", "text/plain");
    if (req.url === "/live") {
      res.setHeader("set-cookie", `${LIVE_COOKIE}; Path=/`);
    } else if (req.url === "/rotate") {
      res.setHeader("set-cookie", `n=${++n}; Path=/`);
    } else if (req.url !== "/plain") {
      res.statusCode = 404;
    }
    res.end(res.statusCode === 200 ? "ok\n" : "no\n");
  });
  server.keepAliveTimeout = 120_000;
  server.maxRequestsPerSocket = 0;
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    kind: "node:http",
    url: `http://127.0.0.1:${server.address().port}`,
    close() {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Starts the bench server: nginx when present (unless `prefer` is "node"),
 * else node:http in this process. Returns { kind, url, close() }.
 */
export async function startServer({ prefer = "nginx" } = {}) {
  if (prefer !== "node") {
    const binary = findNginx();
    if (binary) {
      const server = await startNginx(binary);
      if (server) return server;
    }
  }
  return await startNode();
}
