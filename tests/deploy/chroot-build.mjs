#!/usr/bin/env node
// A stand-in for `docker build` where no Docker engine runs: builds the stages of
// deploy/docker/Dockerfile in debootstrap chroots of Debian bookworm (minbase, as
// debian:bookworm-slim is), interpreting FROM, ARG, ENV, WORKDIR, RUN and COPY as Docker
// would, then starts the resulting runtime root as the image would run: as the USER, with
// the ENV, the ENTRYPOINT and CMD; and asks it /healthz and /readyz through the image's own
// HEALTHCHECK command. It proves that the package lists, the build commands and the
// runtime libraries are right on a clean Debian, which the fast checks (run.sh) cannot.
//
//   sudo node tests/deploy/chroot-build.mjs [WORKDIR]     (default /tmp/photoshare-chroot)
//
// Needs root, debootstrap (apt-get install debootstrap) and the Debian mirror; takes 10-20
// minutes on 2 cores. Not part of run.sh for those reasons. What it does not reproduce:
// BuildKit's cache mounts (the directory is simply there), Docker's layer cache, and the
// container's isolation (it is a chroot with the host's network and kernel).
import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, chmodSync, writeFileSync, rmSync } from "node:fs";
import http from "node:http";
import { dirname, join } from "node:path";

import { parseDockerfile } from "./lib/dockerfile.mjs";
import { repoPath, repoRoot } from "./lib/repo.mjs";

const work = process.argv[2] || "/tmp/photoshare-chroot";
const dockerfile = repoPath("deploy/docker/Dockerfile");
const mirror = process.env.DEBIAN_MIRROR || "http://deb.debian.org/debian";
const { stages } = parseDockerfile(readFileSync(dockerfile, "utf8"));

function sh(cmd, args, opts = {}) {
  console.log(`+ ${cmd} ${args.join(" ").slice(0, 300)}`);
  execFileSync(cmd, args, { stdio: "inherit", ...opts });
}

function base() {
  const dir = join(work, "base");
  if (!existsSync(join(dir, "etc/debian_version"))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    sh("debootstrap", ["--variant=minbase", "bookworm", dir, mirror]);
    // What the slim image adds: no documentation, no recommended packages by default.
    writeFileSync(join(dir, "etc/dpkg/dpkg.cfg.d/docker"), "path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\n");
    writeFileSync(join(dir, "etc/apt/sources.list"), `deb ${mirror} bookworm main\ndeb ${mirror} bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n`);
  }
  return dir;
}

function withMounts(root, fn) {
  const mounts = [["proc", "proc", ["-t", "proc"]], ["dev", "/dev", ["--bind"]], ["sys", "/sys", ["--bind"]]];
  const done = [];
  try {
    for (const [target, source, flags] of mounts) {
      mkdirSync(join(root, target), { recursive: true });
      execFileSync("mount", [...flags, source, join(root, target)]);
      done.push(join(root, target));
    }
    cpSync("/etc/resolv.conf", join(root, "etc/resolv.conf"), { dereference: true });
    return fn();
  } finally {
    for (const m of done.reverse()) execFileSync("umount", ["-l", m]);
  }
}

const roots = new Map();
for (const stage of stages) {
  if (stage.image !== "debian:bookworm-slim") throw new Error(`only debian:bookworm-slim stages can be built here, not ${stage.image}`);
  const root = join(work, stage.name);
  rmSync(root, { recursive: true, force: true });
  console.log(`==> stage ${stage.name}: copying the bookworm minbase root`);
  sh("cp", ["-a", base(), root]);
  roots.set(stage.name, root);
  const env = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root" };
  let workdir = "/";
  let user = "0";
  const image = { env, cmd: null, entrypoint: null, healthcheck: null };
  for (const ins of stage.instructions) {
    const args = ins.args;
    switch (ins.keyword) {
      case "ARG": {
        const [k, v] = args.split("=");
        if (v !== undefined) env[k] = v;
        break;
      }
      case "ENV":
        for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[m[1]] = m[2].replace(/^"|"$/g, "");
        break;
      case "WORKDIR":
        workdir = args.startsWith("/") ? args : join(workdir, args);
        mkdirSync(join(root, workdir), { recursive: true });
        break;
      case "RUN":
        for (const m of ins.flags.mount || []) {
          const target = /target=([^,]+)/.exec(m)?.[1];
          if (target) mkdirSync(join(root, target), { recursive: true });
        }
        withMounts(root, () =>
          sh("chroot", ["--userspec", `${user}:${user}`, root, "/usr/bin/env", "-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), "/bin/sh", "-c", `cd ${workdir} && ${ins.exec ? ins.exec.map((a) => `'${a}'`).join(" ") : args}`]),
        );
        break;
      case "COPY": {
        const words = ins.exec || args.split(/\s+/);
        const dest = words.at(-1);
        const from = ins.flags.from?.[0];
        for (const src of words.slice(0, -1)) {
          const source = from ? join(roots.get(from), src) : join(repoRoot, src);
          const target = dest.endsWith("/") ? join(root, workdir, dest, src.endsWith("/") ? "" : src.split("/").pop()) : join(root, dest.startsWith("/") ? dest : join(workdir, dest));
          mkdirSync(dirname(target), { recursive: true });
          cpSync(source, target, { recursive: true, dereference: true });
          if (ins.flags.chmod) chmodSync(target, parseInt(ins.flags.chmod[0], 8));
        }
        break;
      }
      case "USER":
        user = args.split(":")[0];
        break;
      case "CMD":
        image.cmd = ins.exec;
        break;
      case "ENTRYPOINT":
        image.entrypoint = ins.exec;
        break;
      case "HEALTHCHECK":
        image.healthcheck = JSON.parse(/CMD\s+(\[.*\])/.exec(args)[1]);
        break;
      default:
        break; // EXPOSE, VOLUME, STOPSIGNAL, LABEL: metadata
    }
  }
  roots.set(`${stage.name}:image`, { ...image, user, workdir });
}

// Run the last stage as the image would run.
const last = stages.at(-1).name;
const root = roots.get(last);
const image = roots.get(`${last}:image`);
console.log(`==> running the ${last} root as uid ${image.user}: ${[...image.entrypoint, ...image.cmd].join(" ")}`);
const port = 18480;
const env = { ...image.env, PHOTOSHARE_SERVER_LISTEN: `127.0.0.1:${port}` };
const result = await withMounts(root, async () => {
  const child = spawn("chroot", ["--userspec", `${image.user}:${image.user}`, root, "/usr/bin/env", "-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), "/bin/sh", "-c", `cd ${image.workdir} && exec "$@"`, "sh", ...image.entrypoint, ...image.cmd], { stdio: ["ignore", "inherit", "inherit"] });
  const get = (path) => new Promise((resolve) => http.get(`http://127.0.0.1:${port}${path}`, (res) => { let b = ""; res.on("data", (d) => (b += d)); res.on("end", () => resolve({ status: res.statusCode, body: b })); }).on("error", () => resolve({ status: 0 })));
  let ready = null;
  for (let i = 0; i < 100 && !ready; i++) {
    const r = await get("/readyz");
    if (r.status === 200) ready = r;
    else await new Promise((r) => setTimeout(r, 200));
  }
  const health = ready ? execFileSync("chroot", ["--userspec", `${image.user}:${image.user}`, root, "/usr/bin/env", "-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...image.healthcheck], { encoding: "utf8" }) : null;
  const page = ready ? await get("/") : null;
  child.kill("SIGTERM");
  const code = await new Promise((resolve) => child.once("exit", (c, s) => resolve(s || c)));
  return { ready, health: health !== null, page: page?.status, exit: code };
});
console.log(JSON.stringify(result));
if (!result.ready || !result.health || result.page !== 200 || result.exit !== 0) {
  console.error("chroot-build: the image did not serve as expected");
  process.exit(1);
}
console.log(`chroot-build: both stages built; the runtime root served /readyz, / and passed its HEALTHCHECK as uid ${image.user}, and exited 0 on SIGTERM`);
