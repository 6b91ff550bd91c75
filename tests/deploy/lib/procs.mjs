// Processes for the tests that run real servers on loopback: photoshare, HAProxy,
// memcached. Every process started here is stopped by stopAll(), also when a test fails.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { repoPath } from "./repo.mjs";

const started = new Set();

export function binary() {
  const b = process.env.PHOTOSHARE_BINARY || repoPath("build/photoshare");
  return existsSync(b) ? b : null;
}

export function which(cmd) {
  for (const dir of (process.env.PATH || "").split(":").concat(["/usr/sbin", "/usr/bin", "/sbin"])) {
    const p = join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return null;
}

export function tempDir(prefix = "photoshare-deploy-") {
  return mkdtempSync(join(process.env.TMPDIR || tmpdir(), prefix));
}

// A TCP port that is free on `host` (and on each of `alsoOn`) right now.
export async function freePort(host = "127.0.0.1", alsoOn = []) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise((resolve, reject) => {
      const s = net.createServer();
      s.once("error", reject);
      s.listen(0, host, () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    let ok = true;
    for (const h of alsoOn) {
      ok = await new Promise((resolve) => {
        const s = net.createServer();
        s.once("error", () => resolve(false));
        s.listen(port, h, () => s.close(() => resolve(true)));
      });
      if (!ok) break;
    }
    if (ok) return port;
  }
  throw new Error("no free port");
}

export function start(cmd, args, { log, env } = {}) {
  const out = log ? openSync(log, "a") : "ignore";
  const child = spawn(cmd, args, { stdio: ["ignore", out, out], env: { ...process.env, ...env } });
  started.add(child);
  child.on("exit", () => started.delete(child));
  return child;
}

export async function stop(child, signal = "SIGTERM", graceMs = 10000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAll() {
  await Promise.all([...started].map((c) => stop(c)));
}

export function get(url, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (error) => resolve({ status: 0, error }));
  });
}

export async function waitFor(fn, { timeoutMs = 15000, intervalMs = 100, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// A photoshare server with its own data directory, listening on host:port.
export async function startPhotoshare({ host = "127.0.0.1", port, name, dir }) {
  const bin = binary();
  const child = start(bin, ["serve", "--listen", `${host}:${port}`, "--data-dir", dir, "--name", name], {
    log: join(dir, "server.log"),
    env: { PHOTOSHARE_LOG_ACCESS: "false" },
  });
  await waitFor(async () => (await get(`http://${host}:${port}/readyz`)).status === 200, {
    what: `photoshare ${name} on ${host}:${port} (log: ${join(dir, "server.log")})`,
  }).catch((e) => {
    throw new Error(`${e.message}\n${existsSync(join(dir, "server.log")) ? readFileSync(join(dir, "server.log"), "utf8").slice(-2000) : ""}`);
  });
  return child;
}

export function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: "utf8", timeout: 30000, ...opts });
}
