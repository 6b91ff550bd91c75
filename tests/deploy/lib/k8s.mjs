// Validation of a directory of Kubernetes manifests (deploy/k8s): every YAML document is
// checked against the Kubernetes schemas (k8s-schema.mjs), then the objects are checked
// against each other, for the mistakes a schema cannot see and a cluster accepts silently
// or rejects only at run time: selectors that match no pod, a Service port naming no
// container port, probes on ports that do not exist, an HPA scaling nothing, references to
// ConfigMaps, Secrets, volumes, claims and service accounts that are not there, a
// kustomization that forgets a file. photoshare's own rules (its settings, its metrics,
// its shutdown arithmetic) are in checkPhotoshare().
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import YAML from "yaml";

import { schemaErrors } from "./k8s-schema.mjs";
import { configEnvNames, durationDefaultMs, metricSeries, parseDuration, repoRoot } from "./repo.mjs";

const KUSTOMIZATION = "kustomize.config.k8s.io/v1beta1";

export function yamlFiles(path) {
  if (statSync(path).isFile()) return [path];
  const out = [];
  for (const name of readdirSync(path).sort()) {
    const p = join(path, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

// Every document of every YAML file under `path` (a directory or one file).
export function loadDocuments(path) {
  const docs = [];
  const errors = [];
  for (const file of yamlFiles(path)) {
    const text = readFileSync(file, "utf8");
    const parsed = YAML.parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
    parsed.forEach((d, index) => {
      const where = `${rel(file)}#${index + 1}`;
      if (d.errors.length) {
        for (const e of d.errors) errors.push(`${where}: YAML: ${e.message.split("\n")[0]}`);
        return;
      }
      const obj = d.toJS({ maxAliasCount: 100 });
      if (obj === null || obj === undefined) return; // an empty document (a trailing ---)
      // Where the object came from, for messages (not enumerable: not part of the object).
      if (obj && typeof obj === "object") Object.defineProperty(obj, "__where", { value: where, enumerable: false });
      docs.push({ file, index, where, obj });
    });
  }
  return { docs, errors };
}

function rel(file) {
  const r = relative(repoRoot, file);
  return r.startsWith("..") ? file : r;
}

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const describe = (o) => `${o.__where ? o.__where + " " : ""}${o.kind}/${o.metadata?.name ?? "?"}`;
const nameOf = (o) => `${o.kind}/${o.metadata?.name ?? "?"}`;

// --- names and labels ---------------------------------------------------------------------

const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const labelName = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const portName = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/; // IANA_SVC_NAME
const envVarName = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const configKeyName = /^[-._a-zA-Z0-9]+$/;
// Kinds whose names are DNS labels (they become DNS names or are used in other labels).
const labelNamedKinds = new Set(["Namespace", "Service", "StatefulSet"]);

function checkMetadata(o, errs) {
  const md = o.metadata;
  if (!isObj(md) || typeof md.name !== "string") {
    errs.push(`${o.kind}: metadata.name is required`);
    return;
  }
  const re = labelNamedKinds.has(o.kind) ? dns1123Label : dns1123Subdomain;
  if (!re.test(md.name) || md.name.length > (labelNamedKinds.has(o.kind) ? 63 : 253)) {
    errs.push(`${describe(o)}: metadata.name '${md.name}' is not a valid DNS-1123 ${labelNamedKinds.has(o.kind) ? "label" : "subdomain"}`);
  }
  checkLabels(md.labels, `${describe(o)}: metadata.labels`, errs);
}

function checkLabels(labels, what, errs) {
  if (!isObj(labels)) return;
  for (const [k, v] of Object.entries(labels)) {
    if (!labelName.test(k) || k.split("/").pop().length > 63) errs.push(`${what}: invalid label key '${k}'`);
    if (typeof v !== "string" || !labelValue.test(v) || v.length > 63) errs.push(`${what}: invalid value '${v}' for label '${k}' (a string of at most 63 alphanumerics, '-', '_' or '.')`);
  }
}

// --- selectors ----------------------------------------------------------------------------

function selectorMatches(selector, labels) {
  if (!isObj(selector)) return false;
  labels = labels || {};
  const ml = selector.matchLabels || {};
  for (const [k, v] of Object.entries(ml)) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions || []) {
    const has = Object.hasOwn(labels, e.key);
    switch (e.operator) {
      case "In": if (!has || !(e.values || []).includes(labels[e.key])) return false; break;
      case "NotIn": if (has && (e.values || []).includes(labels[e.key])) return false; break;
      case "Exists": if (!has) return false; break;
      case "DoesNotExist": if (has) return false; break;
      default: return false;
    }
  }
  return Object.keys(ml).length > 0 || (selector.matchExpressions || []).length > 0;
}

// A Service's selector is a plain map.
function mapSelectorMatches(selector, labels) {
  if (!isObj(selector) || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => (labels || {})[k] === v);
}

// --- pod templates ------------------------------------------------------------------------

const workloadKinds = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);

function podTemplate(o) {
  if (o.kind === "Pod") return { metadata: o.metadata, spec: o.spec };
  if (o.kind === "CronJob") return o.spec?.jobTemplate?.spec?.template;
  if (workloadKinds.has(o.kind)) return o.spec?.template;
  return null;
}

function containersOf(spec) {
  return [...(spec?.initContainers || []), ...(spec?.containers || [])];
}

function portExists(port, container, allContainers) {
  if (port === undefined || port === null) return false;
  if (typeof port === "number") return allContainers.some((c) => (c.ports || []).some((p) => p.containerPort === port)) || !container;
  return (container ? [container] : allContainers).some((c) => (c.ports || []).some((p) => p.name === port));
}

// --- the checks ---------------------------------------------------------------------------

export function crossReferenceErrors(docs, { defaultNamespace = "default" } = {}) {
  const errs = [];
  const objects = docs.filter((d) => d.obj.apiVersion !== KUSTOMIZATION).map((d) => d.obj);
  const nsOf = (o) => o.metadata?.namespace || (o.kind === "Namespace" ? null : defaultNamespace);
  const find = (kind, name, ns) => objects.find((o) => o.kind === kind && o.metadata?.name === name && nsOf(o) === ns);

  // Duplicates: the second `kubectl apply` of the same name replaces the first.
  const seen = new Map();
  for (const d of docs) {
    const o = d.obj;
    if (o.apiVersion === KUSTOMIZATION) continue;
    const key = `${o.kind}/${nsOf(o)}/${o.metadata?.name}`;
    if (seen.has(key)) errs.push(`${describe(o)}: defined twice (also ${seen.get(key)})`);
    else seen.set(key, d.where);
    checkMetadata(o, errs);
    const tpl = podTemplate(o);
    if (tpl) checkLabels(tpl.metadata?.labels, `${describe(o)}: pod template labels`, errs);
  }

  const namespaces = objects.filter((o) => o.kind === "Namespace").map((o) => o.metadata?.name);
  for (const o of objects) {
    const ns = nsOf(o);
    if (ns && namespaces.length && !namespaces.includes(ns) && o.metadata?.namespace) {
      // an explicit namespace that this set of manifests does not create: allowed (it may
      // be another team's, like "monitoring"), but not a typo of one it does create.
      const close = namespaces.find((n) => n !== ns && (n.startsWith(ns) || ns.startsWith(n)));
      if (close) errs.push(`${describe(o)}: namespace '${ns}' looks like a typo of '${close}'`);
    }
  }

  const workloads = objects.filter((o) => podTemplate(o));

  for (const o of objects) {
    const ns = nsOf(o);
    const tpl = podTemplate(o);
    const what = describe(o);

    if (tpl) {
      const spec = tpl.spec || {};
      const labels = tpl.metadata?.labels || {};
      if (o.kind !== "Pod" && o.kind !== "Job" && o.kind !== "CronJob") {
        if (!selectorMatches(o.spec?.selector, labels)) errs.push(`${what}: spec.selector does not match the pod template's labels`);
      }
      const containers = containersOf(spec);
      const volumes = new Map((spec.volumes || []).map((v) => [v.name, v]));
      const claimTemplates = new Set((o.spec?.volumeClaimTemplates || []).map((c) => c.metadata?.name));
      const names = new Set();
      for (const c of containers) {
        if (names.has(c.name)) errs.push(`${what}: two containers are named '${c.name}'`);
        names.add(c.name);
        const portNames = new Set();
        for (const p of c.ports || []) {
          if (p.name !== undefined) {
            if (!portName.test(p.name)) errs.push(`${what}: container ${c.name}: port name '${p.name}' is not a valid IANA service name (at most 15 lower-case alphanumerics and '-', with a letter)`);
            if (portNames.has(p.name)) errs.push(`${what}: container ${c.name}: port name '${p.name}' is used twice`);
            portNames.add(p.name);
          }
        }
        for (const probeName of ["readinessProbe", "livenessProbe", "startupProbe"]) {
          const probe = c[probeName];
          if (!probe) continue;
          const handler = probe.httpGet || probe.tcpSocket || probe.grpc;
          if (handler && !portExists(handler.port, c, containers)) errs.push(`${what}: container ${c.name}: ${probeName} uses port '${handler.port}', which the container does not declare`);
          if (probe.httpGet && typeof probe.httpGet.path === "string" && !probe.httpGet.path.startsWith("/")) errs.push(`${what}: container ${c.name}: ${probeName} path must start with '/'`);
        }
        for (const hook of ["preStop", "postStart"]) {
          const h = c.lifecycle?.[hook];
          const handler = h?.httpGet || h?.tcpSocket;
          if (handler && !portExists(handler.port, c, containers)) errs.push(`${what}: container ${c.name}: ${hook} uses port '${handler.port}', which the container does not declare`);
        }
        for (const m of c.volumeMounts || []) {
          if (!volumes.has(m.name) && !claimTemplates.has(m.name)) errs.push(`${what}: container ${c.name}: volumeMount '${m.name}' names no volume of the pod`);
        }
        const envNames = new Set();
        for (const e of c.env || []) {
          if (!envVarName.test(e.name)) errs.push(`${what}: container ${c.name}: invalid environment variable name '${e.name}'`);
          if (envNames.has(e.name)) errs.push(`${what}: container ${c.name}: environment variable ${e.name} is set twice`);
          envNames.add(e.name);
          const cmk = e.valueFrom?.configMapKeyRef;
          const sk = e.valueFrom?.secretKeyRef;
          for (const [ref, kind] of [[cmk, "ConfigMap"], [sk, "Secret"]]) {
            if (!ref || ref.optional) continue;
            const target = find(kind, ref.name, ns);
            if (!target) errs.push(`${what}: container ${c.name}: env ${e.name} refers to ${kind} '${ref.name}', which is not defined`);
            else if (!Object.hasOwn({ ...(target.data || {}), ...(target.stringData || {}), ...(target.binaryData || {}) }, ref.key)) {
              errs.push(`${what}: container ${c.name}: env ${e.name} refers to key '${ref.key}' of ${kind} '${ref.name}', which has no such key`);
            }
          }
        }
        for (const ef of c.envFrom || []) {
          for (const [ref, kind] of [[ef.configMapRef, "ConfigMap"], [ef.secretRef, "Secret"]]) {
            if (ref && !ref.optional && !find(kind, ref.name, ns)) errs.push(`${what}: container ${c.name}: envFrom refers to ${kind} '${ref.name}', which is not defined`);
          }
        }
        const req = c.resources?.requests || {};
        const lim = c.resources?.limits || {};
        for (const r of ["cpu", "memory"]) {
          if (req[r] !== undefined && lim[r] !== undefined && quantity(req[r]) > quantity(lim[r])) errs.push(`${what}: container ${c.name}: ${r} request ${req[r]} is above its limit ${lim[r]}`);
        }
      }
      for (const v of spec.volumes || []) {
        if (v.configMap && !v.configMap.optional && !find("ConfigMap", v.configMap.name, ns)) errs.push(`${what}: volume '${v.name}' refers to ConfigMap '${v.configMap.name}', which is not defined`);
        if (v.secret && !v.secret.optional && !find("Secret", v.secret.secretName, ns)) errs.push(`${what}: volume '${v.name}' refers to Secret '${v.secret.secretName}', which is not defined`);
        if (v.persistentVolumeClaim && !find("PersistentVolumeClaim", v.persistentVolumeClaim.claimName, ns)) errs.push(`${what}: volume '${v.name}' refers to PersistentVolumeClaim '${v.persistentVolumeClaim.claimName}', which is not defined`);
        for (const src of v.projected?.sources || []) {
          if (src.configMap && !src.configMap.optional && !find("ConfigMap", src.configMap.name, ns)) errs.push(`${what}: volume '${v.name}' refers to ConfigMap '${src.configMap.name}', which is not defined`);
          if (src.secret && !src.secret.optional && !find("Secret", src.secret.name, ns)) errs.push(`${what}: volume '${v.name}' refers to Secret '${src.secret.name}', which is not defined`);
        }
        const mounted = containers.some((c) => (c.volumeMounts || []).some((m) => m.name === v.name));
        if (!mounted) errs.push(`${what}: volume '${v.name}' is mounted by no container`);
      }
      const sa = spec.serviceAccountName;
      if (sa && sa !== "default" && !find("ServiceAccount", sa, ns)) errs.push(`${what}: serviceAccountName '${sa}' is not defined`);
      for (const s of spec.imagePullSecrets || []) if (!find("Secret", s.name, ns)) errs.push(`${what}: imagePullSecret '${s.name}' is not defined`);
      if (o.kind === "StatefulSet") {
        const svc = find("Service", o.spec?.serviceName, ns);
        if (o.spec?.serviceName && !svc) errs.push(`${what}: serviceName '${o.spec.serviceName}' is not a Service defined here`);
        else if (svc && svc.spec?.clusterIP !== "None") errs.push(`${what}: serviceName '${o.spec.serviceName}' should be a headless Service (clusterIP: None) for per-pod DNS names`);
      }
    }

    if (o.kind === "Service") {
      const sel = o.spec?.selector;
      if (o.spec?.type !== "ExternalName" && sel) {
        const backends = workloads.filter((w) => nsOf(w) === ns && mapSelectorMatches(sel, podTemplate(w).metadata?.labels));
        if (!backends.length) errs.push(`${what}: selector ${JSON.stringify(sel)} matches the pods of no workload defined here`);
        for (const p of o.spec?.ports || []) {
          const target = p.targetPort ?? p.port;
          for (const w of backends) {
            const cs = containersOf(podTemplate(w).spec);
            if (!portExists(target, null, cs)) errs.push(`${what}: port ${p.name ?? p.port} targets '${target}', which no container of ${nameOf(w)} declares`);
          }
        }
      }
    }

    if (o.kind === "Ingress") {
      const backendsOf = (spec) => [spec?.defaultBackend, ...(spec?.rules || []).flatMap((r) => (r.http?.paths || []).map((p) => p.backend))].filter(Boolean);
      for (const b of backendsOf(o.spec)) {
        if (!b.service) continue;
        const svc = find("Service", b.service.name, ns);
        if (!svc) {
          errs.push(`${what}: backend Service '${b.service.name}' is not defined`);
          continue;
        }
        const port = b.service.port || {};
        const ok = (svc.spec?.ports || []).some((p) => (port.name !== undefined ? p.name === port.name : p.port === port.number));
        if (!ok) errs.push(`${what}: backend port ${port.name ?? port.number} is not a port of Service '${b.service.name}'`);
      }
      for (const t of o.spec?.tls || []) if (t.secretName && !find("Secret", t.secretName, ns)) errs.push(`${what}: tls secret '${t.secretName}' is not defined`);
    }

    if (o.kind === "HorizontalPodAutoscaler") {
      const ref = o.spec?.scaleTargetRef || {};
      const target = objects.find((t) => t.kind === ref.kind && t.metadata?.name === ref.name && nsOf(t) === ns);
      if (!target) errs.push(`${what}: scaleTargetRef ${ref.kind}/${ref.name} is not defined`);
      else {
        if (target.apiVersion !== ref.apiVersion) errs.push(`${what}: scaleTargetRef apiVersion ${ref.apiVersion} is not the target's (${target.apiVersion})`);
        if (target.spec?.replicas !== undefined) errs.push(`${what}: ${nameOf(target)} sets spec.replicas, which every \`kubectl apply\` would reset under the autoscaler; leave it out`);
        const cs = containersOf(podTemplate(target)?.spec);
        for (const m of o.spec?.metrics || []) {
          const r = m.resource || m.containerResource;
          if (r && r.target?.type === "Utilization" && !cs.every((c) => c.resources?.requests?.[r.name] !== undefined || (m.containerResource && c.name !== m.containerResource.container))) {
            errs.push(`${what}: ${r.name} utilization needs a ${r.name} request on every container of ${nameOf(target)}`);
          }
        }
      }
      if ((o.spec?.minReplicas ?? 1) > o.spec?.maxReplicas) errs.push(`${what}: minReplicas ${o.spec.minReplicas} is above maxReplicas ${o.spec.maxReplicas}`);
    }

    if (o.kind === "PodDisruptionBudget") {
      const matched = workloads.filter((w) => nsOf(w) === ns && selectorMatches(o.spec?.selector, podTemplate(w).metadata?.labels));
      if (!matched.length) errs.push(`${what}: selector matches the pods of no workload defined here`);
    }

    if (o.kind === "ConfigMap" || o.kind === "Secret") {
      for (const section of ["data", "stringData", "binaryData"]) {
        for (const [k, v] of Object.entries(o[section] || {})) {
          if (!configKeyName.test(k)) errs.push(`${what}: invalid key '${k}' in ${section}`);
          if (typeof v !== "string") errs.push(`${what}: ${section}.${k} must be a string (quote numbers and booleans)`);
        }
      }
    }
  }
  return errs;
}

// Kubernetes quantities as numbers, enough to compare a request with a limit.
export function quantity(q) {
  const m = /^([0-9.]+)(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$/.exec(String(q));
  if (!m) return NaN;
  const f = { m: 1e-3, k: 1e3, Ki: 1024, M: 1e6, Mi: 1024 ** 2, G: 1e9, Gi: 1024 ** 3, T: 1e12, Ti: 1024 ** 4, P: 1e15, Pi: 1024 ** 5, E: 1e18, Ei: 1024 ** 6 }[m[2]] ?? 1;
  return Number(m[1]) * f;
}

// A kustomization.yaml: every listed file exists, and every manifest of its directory is
// listed (a file left out is silently not applied by `kubectl apply -k`).
export function kustomizationErrors(dir, docs) {
  const errs = [];
  const kfile = join(dir, "kustomization.yaml");
  if (!existsSync(kfile)) return errs;
  const k = YAML.parse(readFileSync(kfile, "utf8"));
  if (k.apiVersion !== KUSTOMIZATION || k.kind !== "Kustomization") errs.push(`${rel(kfile)}: apiVersion/kind must be ${KUSTOMIZATION} Kustomization`);
  const known = new Set(["apiVersion", "kind", "namespace", "resources", "images", "labels", "commonLabels", "commonAnnotations", "configMapGenerator", "secretGenerator", "patches", "namePrefix", "nameSuffix", "replicas", "components", "generatorOptions"]);
  for (const key of Object.keys(k)) if (!known.has(key)) errs.push(`${rel(kfile)}: unknown field '${key}'`);
  const listed = new Set();
  for (const r of k.resources || []) {
    const p = join(dir, r);
    if (!existsSync(p)) errs.push(`${rel(kfile)}: resource ${r} does not exist`);
    listed.add(p);
  }
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (/\.ya?ml$/.test(name) && name !== "kustomization.yaml" && !listed.has(p)) errs.push(`${rel(kfile)}: ${name} is not listed in resources`);
  }
  const images = new Set(docs.flatMap((d) => containersOf(podTemplate(d.obj)?.spec).map((c) => String(c.image).split(":")[0])));
  for (const img of k.images || []) if (!images.has(img.name)) errs.push(`${rel(kfile)}: images entry '${img.name}' matches no container image`);
  return errs;
}

// --- photoshare's own rules -----------------------------------------------------------------

const placeholder = /CHANGE-ME/;

function seconds(d) {
  return parseDuration(d) / 1000;
}

// What the photoshare Deployment must get right for photoshare specifically.
export function photoshareErrors(docs, { defaultNamespace = "default" } = {}) {
  const errs = [];
  const objects = docs.map((d) => d.obj);
  const envNames = configEnvNames();
  const nsOf = (o) => o.metadata?.namespace || defaultNamespace;
  const find = (kind, name, ns) => objects.find((o) => o.kind === kind && o.metadata?.name === name && nsOf(o) === ns);

  // Settings are only read from PHOTOSHARE_<SECTION>_<KEY>: a misspelt one is ignored.
  for (const o of objects.filter((o) => o.kind === "ConfigMap" || o.kind === "Secret")) {
    for (const k of Object.keys({ ...(o.data || {}), ...(o.stringData || {}) })) {
      if (k.startsWith("PHOTOSHARE_") && !envNames.has(k)) errs.push(`${describe(o)}: ${k} is not a photoshare setting (see \`photoshare config --keys\`)`);
    }
  }
  // No real secret in the repository.
  for (const o of objects.filter((o) => o.kind === "Secret")) {
    for (const [k, v] of Object.entries({ ...(o.data || {}), ...(o.stringData || {}) })) {
      if (!placeholder.test(String(v))) errs.push(`${describe(o)}: ${k} must be a CHANGE-ME placeholder, never a real secret`);
    }
  }

  for (const o of objects.filter((o) => podTemplate(o))) {
    const spec = podTemplate(o).spec || {};
    for (const c of containersOf(spec)) {
      if (!/(^|\/)photoshare(:|@|$)/.test(String(c.image))) continue;
      const what = `${describe(o)}: container ${c.name}`;
      const env = {};
      for (const ef of c.envFrom || []) {
        const src = ef.configMapRef ? find("ConfigMap", ef.configMapRef.name, nsOf(o)) : ef.secretRef ? find("Secret", ef.secretRef.name, nsOf(o)) : null;
        Object.assign(env, src?.data || {}, src?.stringData || {});
      }
      for (const e of c.env || []) {
        if (e.name.startsWith("PHOTOSHARE_") && !envNames.has(e.name)) errs.push(`${what}: ${e.name} is not a photoshare setting`);
        env[e.name] = e.value ?? "(from a reference)";
      }
      const listen = env.PHOTOSHARE_SERVER_LISTEN;
      const port = listen ? Number(listen.split(":").pop()) : 8080;
      if (listen && !/^(0\.0\.0\.0|\[::\]|\*)?:\d+$/.test(listen) && !listen.startsWith("0.0.0.0:")) errs.push(`${what}: PHOTOSHARE_SERVER_LISTEN ${listen} does not listen on every address; probes and the Service could not reach it`);
      if (!(c.ports || []).some((p) => p.containerPort === port)) errs.push(`${what}: no container port ${port}, where photoshare listens`);
      const probePath = (p) => p?.httpGet?.path;
      if (probePath(c.readinessProbe) !== "/readyz") errs.push(`${what}: readinessProbe must GET /readyz (fails while draining or without the database)`);
      if (probePath(c.livenessProbe) !== "/healthz") errs.push(`${what}: livenessProbe must GET /healthz (a database outage must not restart every pod)`);
      // Shutdown: preStop, then shutdown_delay, then shutdown_timeout, all within the grace period.
      const pre = c.lifecycle?.preStop;
      let preStopSeconds = 0;
      if (pre?.sleep) preStopSeconds = pre.sleep.seconds;
      else if (pre?.exec?.command?.[0] === "sleep") preStopSeconds = Number(pre.exec.command[1]);
      else errs.push(`${what}: preStop must wait (sleep) for the endpoint change to reach the load balancers`);
      const delay = env.PHOTOSHARE_SERVER_SHUTDOWN_DELAY !== undefined ? seconds(env.PHOTOSHARE_SERVER_SHUTDOWN_DELAY) : durationDefaultMs("server.shutdown_delay") / 1000;
      const timeout = env.PHOTOSHARE_SERVER_SHUTDOWN_TIMEOUT !== undefined ? seconds(env.PHOTOSHARE_SERVER_SHUTDOWN_TIMEOUT) : durationDefaultMs("server.shutdown_timeout") / 1000;
      const grace = spec.terminationGracePeriodSeconds ?? 30;
      const needed = preStopSeconds + delay + timeout;
      if (grace < needed + 1) errs.push(`${what}: terminationGracePeriodSeconds ${grace} < preStop ${preStopSeconds}s + shutdown_delay ${delay}s + shutdown_timeout ${timeout}s + 1s: requests in flight would be killed`);
      const sc = c.securityContext || {};
      const psc = spec.securityContext || {};
      if (!(sc.runAsNonRoot ?? psc.runAsNonRoot)) errs.push(`${what}: runAsNonRoot must be true`);
      if (sc.readOnlyRootFilesystem !== true) errs.push(`${what}: readOnlyRootFilesystem must be true`);
      if (sc.allowPrivilegeEscalation !== false) errs.push(`${what}: allowPrivilegeEscalation must be false`);
      const dataDir = env.PHOTOSHARE_SERVER_DATA_DIR;
      if (sc.readOnlyRootFilesystem && dataDir && !(c.volumeMounts || []).some((m) => m.mountPath === dataDir)) errs.push(`${what}: the data directory ${dataDir} must be a volume (the root filesystem is read-only)`);
      if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory || !c.resources?.limits?.memory) errs.push(`${what}: cpu and memory requests and a memory limit are required`);
    }
  }

  // The autoscaler's custom metrics come from prometheus-adapter rules, which read series
  // photoshare exports.
  const series = metricSeries();
  const adapterMetrics = new Set();
  for (const o of objects.filter((o) => o.kind === "ConfigMap" && o.data?.["config.yaml"] && /prometheus-adapter/.test(JSON.stringify(o.metadata)))) {
    let cfg;
    try {
      cfg = YAML.parse(o.data["config.yaml"]);
    } catch (e) {
      errs.push(`${describe(o)}: config.yaml is not valid YAML: ${e.message}`);
      continue;
    }
    for (const [i, r] of (cfg?.rules || []).entries()) {
      const what = `${describe(o)}: rules[${i}]`;
      for (const f of ["seriesQuery", "resources", "name", "metricsQuery"]) if (!r[f]) errs.push(`${what}: ${f} is required`);
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{/.exec(r.seriesQuery || "");
      if (!m) errs.push(`${what}: seriesQuery should name one metric`);
      else if (!series.has(m[1])) errs.push(`${what}: photoshare exports no series named ${m[1]}`);
      for (const used of (r.metricsQuery || "").matchAll(/\b([a-z_][a-z0-9_]*)\{/g)) if (!series.has(used[1])) errs.push(`${what}: metricsQuery reads ${used[1]}, which photoshare does not export`);
      if (!(r.metricsQuery || "").includes("<<.LabelMatchers>>") || !(r.metricsQuery || "").includes("<<.GroupBy>>")) errs.push(`${what}: metricsQuery must use <<.LabelMatchers>> and <<.GroupBy>>`);
      if (r.name?.matches) {
        try {
          new RegExp(r.name.matches);
        } catch {
          errs.push(`${what}: name.matches is not a regular expression`);
        }
      }
      adapterMetrics.add(r.name?.as || (m && m[1]));
    }
  }
  for (const o of objects.filter((o) => o.kind === "HorizontalPodAutoscaler")) {
    for (const m of o.spec?.metrics || []) {
      if (m.type !== "Pods" && m.type !== "Object") continue;
      const name = (m.pods || m.object)?.metric?.name;
      if (!adapterMetrics.has(name)) errs.push(`${describe(o)}: metric ${name} is served by no prometheus-adapter rule defined here`);
    }
    if (!(o.spec?.metrics || []).some((m) => m.type === "Resource")) errs.push(`${describe(o)}: a Resource (CPU) metric is needed as the fallback when custom metrics are missing`);
  }
  return errs;
}

// --- everything -------------------------------------------------------------------------------

// Validates `path` (a directory such as deploy/k8s, or one file). Returns a list of
// "where: message" strings; empty when everything is valid. `photoshare: false` leaves
// out photoshare's own rules (for manifests of something else).
export async function validateManifests(path, { photoshare = true } = {}) {
  const { docs, errors } = loadDocuments(path);
  const isDir = statSync(path).isDirectory();
  let defaultNamespace = "default";
  const kfile = isDir ? join(path, "kustomization.yaml") : null;
  if (kfile && existsSync(kfile)) defaultNamespace = YAML.parse(readFileSync(kfile, "utf8"))?.namespace || "default";
  const objects = docs.filter((d) => !(d.obj?.apiVersion === KUSTOMIZATION));
  if (!docs.length && !errors.length) errors.push(`${rel(path)}: no Kubernetes objects found`);
  for (const d of objects) for (const e of await schemaErrors(d.obj)) errors.push(`${d.where} ${d.obj?.kind ?? "?"}/${d.obj?.metadata?.name ?? "?"}: ${e}`);
  // Kustomizations of subdirectories are checked with their own directory.
  for (const d of docs.filter((d) => d.obj?.apiVersion === KUSTOMIZATION)) {
    for (const e of kustomizationErrors(dirname(d.file), objects.filter((o) => dirname(o.file).startsWith(dirname(d.file))))) errors.push(e);
  }
  // Objects of a subdirectory that has no kustomization of its own are applied on their
  // own (prometheus-adapter/): they get no default namespace from the parent.
  const nsDocs = objects.map((d) => ({ ...d, obj: d.obj }));
  errors.push(...crossReferenceErrors(nsDocs, { defaultNamespace }));
  if (photoshare) errors.push(...photoshareErrors(nsDocs, { defaultNamespace }));
  return errors;
}

export { basename };
