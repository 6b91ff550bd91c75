// Checks of deploy/docker/Dockerfile without a Docker engine (none runs on the machines
// that build photoshare): the file is parsed here, instruction by instruction, and checked
// against the repository it builds from and the binary it ships:
// - two stages, "build" and "runtime", on debian:bookworm-slim (a pinned tag);
// - the build stage installs exactly scripts/setup's build_packages and configures CMake
//   for RelWithDebInfo with clang, without tests and benchmarks;
// - the runtime stage installs the packages of the libraries build/photoshare needs
//   (readelf NEEDED, mapped with dpkg -S) and nothing else but the allowed extras;
// - a numeric, non-root USER; STOPSIGNAL SIGTERM; a HEALTHCHECK in exec form whose
//   command the image contains; the port, data directory and settings agree;
// - every COPY source exists in the repository (tracked by git) and is not excluded by
//   Dockerfile.dockerignore; every COPY --from names an earlier stage.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

import { configEnvNames, repoRoot, setupArray } from "./repo.mjs";

// --- parsing ------------------------------------------------------------------------------

// Instructions with their flags (--from=build), arguments, and exec-form (JSON) arguments.
export function parseDockerfile(text) {
  const lines = text.split("\n");
  const directives = {};
  let i = 0;
  // Parser directives: leading "# key=value" comments.
  for (; i < lines.length; i++) {
    const m = /^#\s*([a-z]+)\s*=\s*(\S+)\s*$/i.exec(lines[i]);
    if (!m) break;
    directives[m[1].toLowerCase()] = m[2];
  }
  const instructions = [];
  let current = null;
  for (let n = i; n < lines.length; n++) {
    const line = lines[n];
    if (current === null) {
      if (/^\s*(#|$)/.test(line)) continue;
      current = { line: n + 1, text: "" };
    } else if (/^\s*#/.test(line)) {
      continue; // comments inside a continued instruction are dropped, as Docker does
    }
    const continued = /\\\s*$/.test(line);
    current.text += (current.text ? " " : "") + line.replace(/\\\s*$/, "").trim();
    if (!continued) {
      instructions.push(parseInstruction(current.text, current.line));
      current = null;
    }
  }
  if (current) instructions.push(parseInstruction(current.text, current.line));

  const stages = [];
  const preamble = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const words = ins.args.split(/\s+/);
      const asAt = words.findIndex((w) => w.toUpperCase() === "AS");
      stages.push({ image: words[0], name: asAt > 0 ? words[asAt + 1] : null, line: ins.line, instructions: [] });
    } else if (stages.length) {
      stages.at(-1).instructions.push(ins);
    } else {
      preamble.push(ins);
    }
  }
  return { directives, instructions, stages, preamble };
}

function parseInstruction(text, line) {
  const m = /^(\w+)\s*(.*)$/.exec(text);
  const keyword = m[1].toUpperCase();
  let rest = m[2];
  const flags = {};
  while (/^--[a-z-]+(=\S*)?(\s|$)/.test(rest)) {
    const f = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest);
    (flags[f[1]] ||= []).push(f[2] ?? true);
    rest = rest.slice(f[0].length);
  }
  let exec = null;
  if (/^\[/.test(rest)) {
    try {
      exec = JSON.parse(rest);
    } catch {
      exec = null;
    }
  }
  return { keyword, flags, args: rest, exec, line };
}

// `apt-get install ... pkg pkg` words of a RUN (options and shell operators left out).
export function aptInstalls(run) {
  const pkgs = [];
  for (const cmd of run.split(/&&|;|\|\|/)) {
    const words = cmd.trim().split(/\s+/);
    const at = words.findIndex((w, k) => w === "install" && /apt(-get)?$/.test(words[k - 1] || words[k - 2] || ""));
    if (at < 0) continue;
    for (const w of words.slice(at + 1)) if (w && !w.startsWith("-")) pkgs.push(w);
  }
  return pkgs;
}

// --- .dockerignore, as Docker's patternmatcher reads it ----------------------------------------

function globToRegExp(pattern) {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        i++;
        if (pattern[i + 1] === "/") i++;
        re += ".*";
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

export function dockerignoreMatcher(text) {
  const patterns = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      let p = (negate ? l.slice(1) : l).trim().replace(/^\/+/, "").replace(/\/+$/, "");
      p = p.replace(/\/\.\//g, "/").replace(/^\.\//, "");
      return { negate, re: globToRegExp(p) };
    });
  // excluded(path): the last pattern that matches the path or one of its parents decides.
  return (path) => {
    const parts = path.split("/");
    const candidates = parts.map((_, k) => parts.slice(0, k + 1).join("/"));
    let excluded = false;
    for (const p of patterns) if (candidates.some((c) => p.re.test(c))) excluded = !p.negate;
    return excluded;
  };
}

// --- the checks -----------------------------------------------------------------------------

const trackedCache = new Map();
function trackedFiles(root) {
  if (!trackedCache.has(root)) {
    let files = null;
    try {
      files = execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 }).split("\0").filter(Boolean);
    } catch {
      files = null;
    }
    trackedCache.set(root, files);
  }
  return trackedCache.get(root);
}

// The Debian packages of the libraries `binary` needs, from readelf and dpkg -S; null
// when that cannot be worked out here (no binary, no readelf or dpkg).
const neededCache = new Map();
export function neededPackages(binary) {
  if (!existsSync(binary)) return null;
  const key = `${binary}:${statSync(binary).mtimeMs}`;
  if (!neededCache.has(key)) neededCache.set(key, readNeededPackages(binary));
  return neededCache.get(key);
}

function readNeededPackages(binary) {
  let needed;
  let ldd;
  try {
    needed = [...execFileSync("readelf", ["-d", binary], { encoding: "utf8" }).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
    ldd = execFileSync("ldd", [binary], { encoding: "utf8" });
  } catch {
    return null;
  }
  // Where each library was found, in both spellings of a merged /usr (dpkg knows one).
  const paths = new Map();
  for (const lib of needed) {
    const escaped = lib.replace(/[.+]/g, "\\$&");
    // "libx.so.1 => /path (0x...)", or for the dynamic loader "/path/ld-linux-x86-64.so.2 (0x...)".
    const m = new RegExp(`^\\s*${escaped} => (\\S+)`, "m").exec(ldd) || new RegExp(`^\\s*(/\\S*/${escaped}) \\(`, "m").exec(ldd);
    if (m) paths.set(lib, [m[1], m[1].startsWith("/usr/") ? m[1].slice(4) : `/usr${m[1]}`]);
  }
  // One dpkg -S for all of them: "package:arch: /path" per path it knows.
  const r = spawnSync("dpkg", ["-S", ...[...paths.values()].flat()], { encoding: "utf8" });
  if (r.error) return null;
  const owners = new Map();
  for (const line of r.stdout.split("\n")) {
    const m = /^([^:,\s]+)(?::[^:\s]+)?: (\S+)$/.exec(line);
    if (m) owners.set(m[2], m[1]);
  }
  const map = new Map();
  for (const lib of needed) map.set(lib, (paths.get(lib) || []).map((p) => owners.get(p)).find(Boolean) || null);
  return map;
}

// Packages the runtime stage may install although the binary does not link them.
export const runtimeExtras = new Set(["ca-certificates"]);
// Always in debian:bookworm-slim.
const basePackages = new Set(["libc6"]);

// Validates a Dockerfile. Options: root (the build context, the repository), binary (the
// build to compare the runtime libraries with), setupPackages (scripts/setup's list).
export function validateDockerfile(file, opts = {}) {
  const root = opts.root || repoRoot;
  const binary = opts.binary === undefined ? join(root, "build/photoshare") : opts.binary;
  const errs = [];
  const text = opts.text ?? readFileSync(file, "utf8");
  let parsed;
  try {
    parsed = parseDockerfile(text);
  } catch (e) {
    return [`cannot parse: ${e.message}`];
  }
  const { directives, stages } = parsed;
  const all = stages.flatMap((s) => s.instructions);

  if (all.some((i) => i.keyword === "RUN" && i.flags.mount) || all.some((i) => i.keyword === "COPY" && (i.flags.chmod || i.flags.link))) {
    if (!/^docker\/dockerfile:1(\.\d+)*$/.test(directives.syntax || "")) errs.push("uses RUN --mount or COPY --chmod: start the file with `# syntax=docker/dockerfile:1`");
  }
  if (/<<-?\s*["']?[A-Z]+/.test(text)) errs.push("here-documents are not checked by this parser; avoid them");

  // Stages and base images.
  const names = stages.map((s) => s.name);
  if (stages.length !== 2 || names[0] !== "build" || names[1] !== "runtime") errs.push(`stages must be "build" then "runtime", found ${JSON.stringify(names)}`);
  for (const s of stages) {
    if (s.image !== "debian:bookworm-slim") errs.push(`stage ${s.name}: base image ${s.image}, expected debian:bookworm-slim`);
  }
  const build = stages.find((s) => s.name === "build");
  const runtime = stages.at(-1);
  if (!build || !runtime || build === runtime) return errs;

  // apt: update and install in one RUN, no recommends, lists removed.
  for (const s of stages) {
    for (const ins of s.instructions.filter((i) => i.keyword === "RUN" && /apt-get install/.test(i.args))) {
      if (!/apt-get update/.test(ins.args)) errs.push(`line ${ins.line}: apt-get install without apt-get update in the same RUN (a cached, stale package list)`);
      if (!/--no-install-recommends/.test(ins.args)) errs.push(`line ${ins.line}: apt-get install without --no-install-recommends`);
      if (!/-y\b|--yes\b|--assume-yes\b/.test(ins.args)) errs.push(`line ${ins.line}: apt-get install without -y`);
      if (!/rm -rf \/var\/lib\/apt\/lists/.test(ins.args)) errs.push(`line ${ins.line}: the apt lists are not removed in the same RUN`);
    }
  }

  // Build stage: scripts/setup's packages, CMake flags.
  const buildPkgs = build.instructions.filter((i) => i.keyword === "RUN").flatMap((i) => aptInstalls(i.args));
  const setupPkgs = opts.setupPackages || setupArray("build_packages", root);
  const missing = setupPkgs.filter((p) => !buildPkgs.includes(p));
  const extra = buildPkgs.filter((p) => !setupPkgs.includes(p));
  if (missing.length) errs.push(`build stage does not install scripts/setup's build packages: ${missing.join(" ")}`);
  if (extra.length) errs.push(`build stage installs packages scripts/setup does not list: ${extra.join(" ")} (keep the two lists the same)`);
  const configure = build.instructions.find((i) => i.keyword === "RUN" && /cmake -S/.test(i.args));
  if (!configure) errs.push("build stage does not configure CMake (cmake -S . -B build)");
  else {
    for (const flag of ["-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DPHOTOSHARE_TESTS=OFF", "-DPHOTOSHARE_BENCH=OFF", "-DCMAKE_CXX_COMPILER=clang++"]) {
      if (!configure.args.includes(flag)) errs.push(`build stage: cmake needs ${flag}`);
    }
    if (!/cmake --build build --target photoshare/.test(configure.args)) errs.push("build stage: build only the photoshare target (cmake --build build --target photoshare)");
  }
  const workdir = build.instructions.filter((i) => i.keyword === "WORKDIR").at(-1)?.args;

  // Runtime stage packages: what the binary links, nothing more.
  const runtimePkgs = runtime.instructions.filter((i) => i.keyword === "RUN").flatMap((i) => aptInstalls(i.args));
  for (const p of runtimePkgs) if (/-dev$/.test(p)) errs.push(`runtime stage installs a development package: ${p}`);
  // The binary and the image module it loads (libphotoshare-image.so beside it) together.
  const module = binary ? join(dirname(binary), "libphotoshare-image.so") : null;
  const binaryNeeds = binary ? neededPackages(binary) : null;
  const moduleNeeds = module ? neededPackages(module) : null;
  if (binaryNeeds && !moduleNeeds) errs.push(`cannot list what ${module} links (not built beside ${binary}?)`);
  const needed = binaryNeeds && moduleNeeds ? new Map([...binaryNeeds, ...moduleNeeds]) : null;
  if (needed) {
    const neededPkgs = new Set();
    for (const [lib, pkg] of needed) {
      if (!pkg) errs.push(`build/photoshare or its image module needs ${lib}, which no installed package provides (cannot map it to a package)`);
      else {
        neededPkgs.add(pkg);
        if (!runtimePkgs.includes(pkg) && !basePackages.has(pkg)) errs.push(`runtime stage lacks ${pkg}, which provides ${lib} (readelf -d build/photoshare build/libphotoshare-image.so | grep NEEDED; dpkg -S)`);
      }
    }
    for (const p of runtimePkgs) if (!neededPkgs.has(p) && !runtimeExtras.has(p)) errs.push(`runtime stage installs ${p}, which neither build/photoshare nor its image module links (only their libraries, and ${[...runtimeExtras].join(", ")})`);
  } else if (opts.requireBinary) {
    errs.push(`cannot compare the runtime packages with ${binary} (not built, or no readelf/dpkg)`);
  }

  // Runtime: user, signal, health check, port, data directory, settings.
  const rt = (k) => runtime.instructions.filter((i) => i.keyword === k);
  const users = rt("USER");
  const lastUser = users.at(-1);
  if (!lastUser) errs.push("runtime stage has no USER: the server would run as root");
  else {
    const uid = lastUser.args.split(":")[0];
    if (!/^\d+$/.test(uid)) errs.push(`USER ${lastUser.args}: use a numeric uid, so that Kubernetes' runAsNonRoot can check it`);
    else if (Number(uid) === 0) errs.push("USER 0 is root");
    const runsAfter = runtime.instructions.filter((i) => i.line > lastUser.line && i.keyword === "RUN");
    if (runsAfter.length) errs.push(`line ${runsAfter[0].line}: RUN after USER (put USER after the last RUN)`);
  }
  const stop = rt("STOPSIGNAL").at(-1);
  if (!stop || stop.args.trim() !== "SIGTERM") errs.push("runtime stage: STOPSIGNAL SIGTERM is required (photoshare drains on SIGTERM)");
  const hc = rt("HEALTHCHECK").at(-1);
  let healthCommand = null;
  if (!hc) errs.push("runtime stage: no HEALTHCHECK (or say HEALTHCHECK NONE)");
  else if (!/^NONE\b/i.test(hc.args)) {
    const m = /\bCMD\s+(\[.*\])\s*$/.exec(hc.args);
    if (!m) errs.push("HEALTHCHECK: use the exec form, CMD [\"...\"]");
    else {
      healthCommand = JSON.parse(m[1]);
      for (const opt of ["interval", "timeout", "retries"]) if (!hc.flags[opt]) errs.push(`HEALTHCHECK: set --${opt}`);
    }
  }
  const envs = {};
  for (const e of rt("ENV")) for (const m of e.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) envs[m[1]] = m[2].replace(/^"|"$/g, "");
  const settings = configEnvNames(root);
  for (const k of Object.keys(envs)) if (k.startsWith("PHOTOSHARE_") && !settings.has(k)) errs.push(`ENV ${k} is not a photoshare setting`);
  const listen = envs.PHOTOSHARE_SERVER_LISTEN;
  if (!listen || !/^0\.0\.0\.0:\d+$/.test(listen)) errs.push("ENV PHOTOSHARE_SERVER_LISTEN=0.0.0.0:PORT is needed: the default (127.0.0.1) is unreachable from outside the container");
  else {
    const port = listen.split(":")[1];
    if (!rt("EXPOSE").some((e) => e.args.split(/\s+/).some((p) => p.split("/")[0] === port))) errs.push(`EXPOSE ${port} (where PHOTOSHARE_SERVER_LISTEN listens) is missing`);
  }
  const dataDir = envs.PHOTOSHARE_SERVER_DATA_DIR;
  const vols = rt("VOLUME").flatMap((v) => (v.exec ? v.exec : v.args.split(/\s+/)));
  if (!dataDir) errs.push("ENV PHOTOSHARE_SERVER_DATA_DIR is not set");
  else if (!vols.includes(dataDir)) errs.push(`VOLUME ${dataDir} (the data directory) is missing`);
  const entry = rt("ENTRYPOINT").at(-1);
  if (!entry?.exec) errs.push("ENTRYPOINT must be in exec form, so that the server is PID 1 and gets SIGTERM");

  // COPY sources.
  const tracked = trackedFiles(root);
  const ignoreFile = `${file}.dockerignore`;
  const ignoreText = opts.ignoreText ?? (existsSync(ignoreFile) ? readFileSync(ignoreFile, "utf8") : existsSync(join(root, ".dockerignore")) ? readFileSync(join(root, ".dockerignore"), "utf8") : "");
  const excluded = dockerignoreMatcher(ignoreText);
  const copiedTo = new Set();
  stages.forEach((s, idx) => {
    for (const ins of s.instructions.filter((i) => i.keyword === "COPY" || i.keyword === "ADD")) {
      const words = ins.exec || ins.args.split(/\s+/);
      const sources = words.slice(0, -1);
      const dest = words.at(-1);
      if (ins.keyword === "ADD" && sources.some((src) => /^https?:/.test(src))) errs.push(`line ${ins.line}: ADD from a URL (download nothing at build time)`);
      const from = ins.flags.from?.[0];
      if (from) {
        const k = stages.findIndex((t) => t.name === from);
        if (k < 0 || k >= idx) errs.push(`line ${ins.line}: COPY --from=${from} names no earlier stage`);
        else if (from === "build") {
          for (const src of sources) {
            const made = workdir && (src === join(workdir, "build/photoshare") || src === join(workdir, "build/libphotoshare-image.so"));
            if (!made) errs.push(`line ${ins.line}: COPY --from=build ${src} is not what the build stage makes (${workdir}/build/photoshare and its image module ${workdir}/build/libphotoshare-image.so)`);
          }
          const names = sources.map((src) => src.split("/").at(-1));
          if (names.includes("photoshare") !== names.includes("libphotoshare-image.so")) errs.push(`line ${ins.line}: COPY --from=build copies the binary or its image module without the other (the binary loads the module from its own directory)`);
        }
        continue;
      }
      for (const src of sources) {
        const rel = src.replace(/^\.\//, "").replace(/\/$/, "");
        const path = join(root, rel);
        if (!existsSync(path)) {
          errs.push(`line ${ins.line}: COPY source ${src} does not exist in the repository`);
          continue;
        }
        const files = tracked ? tracked.filter((f) => f === rel || f.startsWith(rel + "/")) : [rel];
        if (tracked && !files.length) errs.push(`line ${ins.line}: COPY source ${src} holds no file tracked by git`);
        const dropped = files.filter((f) => excluded(f));
        if (dropped.length) errs.push(`line ${ins.line}: COPY source ${src}: ${dropped.slice(0, 3).join(", ")}${dropped.length > 3 ? "..." : ""} excluded by ${existsSync(ignoreFile) ? "Dockerfile.dockerignore" : ".dockerignore"}`);
      }
      copiedTo.add(dest);
    }
  });
  if (healthCommand) {
    const cmd = healthCommand[0];
    const inImage = cmd.startsWith("/") ? copiedTo.has(cmd) : [...copiedTo].some((d) => d.endsWith(`/bin/${cmd}`));
    if (!inImage && !["bash", "sh"].includes(cmd)) errs.push(`HEALTHCHECK runs ${cmd}, which no COPY puts in the image`);
  }
  return errs;
}

export { dirname };
