// Facts about photoshare read from the repository itself, so that the deployment files
// are checked against the code and scripts they depend on: the settings (and so the
// PHOTOSHARE_* variable names), the metric names, the build packages of scripts/setup.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export function repoPath(...parts) {
  return join(repoRoot, ...parts);
}

// Every setting declared in src/config/config.cpp: field("section.key", Kind::..., ...).
export function configKeys(root = repoRoot) {
  const text = readFileSync(join(root, "src/config/config.cpp"), "utf8");
  const keys = new Map();
  for (const m of text.matchAll(/field\(\s*"([a-z0-9_]+\.[a-z0-9_]+)"\s*,\s*Kind::(\w+)/g)) {
    keys.set(m[1], { key: m[1], kind: m[2], env: envName(m[1]) });
  }
  if (keys.size < 10) throw new Error("could not read the settings from src/config/config.cpp");
  return keys;
}

// The environment variable of a setting, as config.cpp's env_name() makes it.
export function envName(key) {
  return "PHOTOSHARE_" + key.replace(/\./g, "_").toUpperCase();
}

export function configEnvNames(root = repoRoot) {
  return new Set([...configKeys(root).values()].map((k) => k.env));
}

// Durations as photoshare parses them (config.cpp parse_duration), in milliseconds.
export function parseDuration(text) {
  const m = /^\s*(\d+)\s*(ms|s|m|min|h|d)?\s*$/i.exec(String(text));
  if (!m) throw new Error(`not a duration: ${text}`);
  const unit = (m[2] || "s").toLowerCase();
  const factor = { ms: 1, s: 1000, m: 60000, min: 60000, h: 3600000, d: 86400000 }[unit];
  return Number(m[1]) * factor;
}

// The default of a duration setting of section `server` etc., in milliseconds, as
// src/config/config.hpp declares it: `Duration shutdown_timeout{30'000};`.
export function durationDefaultMs(key, root = repoRoot) {
  const member = key.split(".")[1];
  const text = readFileSync(join(root, "src/config/config.hpp"), "utf8");
  const m = new RegExp(`Duration\\s+${member}\\s*\\{\\s*([0-9']+)\\s*\\}`).exec(text);
  if (!m) throw new Error(`no default for ${key} in src/config/config.hpp`);
  return Number(m[1].replace(/'/g, ""));
}

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(cpp|hpp)$/.test(name)) out.push(p);
  }
  return out;
}

// Every Prometheus series photoshare exports: counter/gauge names as registered in src/,
// histograms with their _bucket, _sum and _count series.
export function metricSeries(root = repoRoot) {
  const series = new Set();
  for (const file of walk(join(root, "src"))) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/\b(counter|gauge|histogram)\(\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"/g)) {
      if (m[1] === "histogram") for (const s of ["_bucket", "_sum", "_count"]) series.add(m[2] + s);
      else series.add(m[2]);
    }
  }
  if (series.size < 5) throw new Error("could not read the metric names from src/");
  return series;
}

// A bash array assignment `name=( ... )` of scripts/setup, as a list of words.
export function setupArray(name, root = repoRoot) {
  const text = readFileSync(join(root, "scripts/setup"), "utf8");
  const m = new RegExp(`^${name}=\\(([^)]*)\\)`, "m").exec(text);
  if (!m) throw new Error(`scripts/setup has no ${name}=( ... )`);
  return m[1].split(/\s+/).filter((w) => w && !w.startsWith("#"));
}
