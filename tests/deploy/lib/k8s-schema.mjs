// Schema validation of Kubernetes objects with the npm package kubernetes-models (its JSON
// schemas, generated from the Kubernetes OpenAPI definitions), plus what those schemas do
// not check but an API server does:
// - unknown fields. The models' validators accept any extra property; an API server with
//   strict field validation (kubectl's default since 1.27) rejects them, and a typo such
//   as `readinessprobe:` would otherwise silently drop a probe. The field names come from
//   the models' own type declarations (*.d.ts), parsed here.
// - API versions that a current cluster no longer serves (the models still carry them).
import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const modelsDir = dirname(require.resolve("kubernetes-models/package.json"));
const apimachineryDir = dirname(require.resolve("@kubernetes-models/apimachinery/package.json"));

// The oldest Kubernetes these manifests are meant for. Group versions removed by then are
// refused even though kubernetes-models still has them.
export const minimumKubernetes = "1.29";
const removedApiVersions = new Map([
  ["extensions/v1beta1", "1.16/1.22"],
  ["apps/v1beta1", "1.16"],
  ["apps/v1beta2", "1.16"],
  ["networking.k8s.io/v1beta1", "1.22"],
  ["policy/v1beta1", "1.25"],
  ["batch/v1beta1", "1.25"],
  ["autoscaling/v2beta1", "1.25"],
  ["autoscaling/v2beta2", "1.26"],
  ["discovery.k8s.io/v1beta1", "1.25"],
  ["events.k8s.io/v1beta1", "1.25"],
  ["node.k8s.io/v1beta1", "1.25"],
  ["storage.k8s.io/v1beta1", "1.27"],
  ["flowcontrol.apiserver.k8s.io/v1beta1", "1.26"],
  ["flowcontrol.apiserver.k8s.io/v1beta2", "1.29"],
  ["rbac.authorization.k8s.io/v1beta1", "1.22"],
  ["admissionregistration.k8s.io/v1beta1", "1.22"],
  ["apiextensions.k8s.io/v1beta1", "1.22"],
  ["certificates.k8s.io/v1beta1", "1.22"],
  ["coordination.k8s.io/v1beta1", "1.22"],
  ["scheduling.k8s.io/v1beta1", "1.22"],
]);

export function modelsVersion() {
  return JSON.parse(readFileSync(join(modelsDir, "package.json"), "utf8")).version;
}

// --- the model class of an apiVersion/kind -------------------------------------------------

const moduleCache = new Map();

async function groupModule(apiVersion) {
  if (!moduleCache.has(apiVersion)) {
    let mod = null;
    if (/^[a-z0-9.-]*\/?v[0-9a-z]+$/.test(apiVersion)) {
      try {
        mod = await import(`kubernetes-models/${apiVersion}`);
      } catch {
        mod = null;
      }
    }
    moduleCache.set(apiVersion, mod);
  }
  return moduleCache.get(apiVersion);
}

// The model class for a top-level object, or an error message.
export async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || !apiVersion) return { error: "no apiVersion" };
  if (typeof kind !== "string" || !kind) return { error: "no kind" };
  if (removedApiVersions.has(apiVersion)) {
    return { error: `apiVersion ${apiVersion} is no longer served (removed in Kubernetes ${removedApiVersions.get(apiVersion)}; these manifests target ${minimumKubernetes}+)` };
  }
  const mod = await groupModule(apiVersion);
  if (!mod) return { error: `unknown apiVersion ${apiVersion}` };
  const cls = mod[kind];
  if (typeof cls !== "function" || cls.kind !== kind || cls.apiVersion !== apiVersion) {
    return { error: `unknown kind ${kind} in ${apiVersion}` };
  }
  return { cls };
}

// --- field names from the models' type declarations ----------------------------------------

// A type as written in the .d.ts files: Array<T>, { [key: string]: T }, { "a"?: T; ... },
// a reference to another interface (IIoK8s...), a primitive, a union of literals.
function parseType(src) {
  let i = 0;
  const ws = () => {
    while (i < src.length && /\s/.test(src[i])) i++;
  };
  function member(props) {
    ws();
    if (src[i] === "[") {
      // index signature: [key: string]: T;
      const close = src.indexOf("]", i);
      i = close + 1;
      ws();
      i++; // ':'
      const t = union();
      ws();
      if (src[i] === ";") i++;
      return { index: t };
    }
    const m = /^"([^"]*)"(\??):\s*/.exec(src.slice(i));
    if (!m) throw new Error(`cannot parse member at: ${src.slice(i, i + 60)}`);
    i += m[0].length;
    const t = union();
    ws();
    if (src[i] === ";") i++;
    props.set(m[1], t);
    return null;
  }
  function object() {
    i++; // '{'
    const props = new Map();
    let index = null;
    for (;;) {
      ws();
      if (src[i] === "}") {
        i++;
        break;
      }
      const r = member(props);
      if (r) index = r.index;
    }
    if (index && props.size === 0) return { kind: "map", of: index };
    return { kind: "object", props };
  }
  function primary() {
    ws();
    if (src.startsWith("Array<", i)) {
      i += 6;
      const of = union();
      ws();
      i++; // '>'
      return { kind: "array", of };
    }
    if (src[i] === "{") return object();
    if (src[i] === '"') {
      const end = src.indexOf('"', i + 1);
      i = end + 1;
      return { kind: "any" };
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (!m) throw new Error(`cannot parse type at: ${src.slice(i, i + 60)}`);
    i += m[0].length;
    if (/^I[A-Z]/.test(m[0]) && m[0] !== "Infinity") return { kind: "ref", name: m[0] };
    return { kind: "any" };
  }
  function union() {
    const alts = [primary()];
    for (;;) {
      ws();
      if (src[i] !== "|") break;
      i++;
      alts.push(primary());
    }
    return alts.length === 1 ? alts[0] : { kind: "any" };
  }
  const t = union();
  return { type: t, rest: i };
}

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

function dtsFiles(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "_schemas") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) dtsFiles(p, out);
    else if (name.endsWith(".d.ts") && name !== "index.d.ts") out.push(p);
  }
  return out;
}

let interfaces = null; // alias (IIoK8s...) -> { kind: "object", props } | null (open)

function parseDeclarations(file) {
  const text = stripComments(readFileSync(file, "utf8"));
  const found = [];
  const iface = /export interface (I\w+)(?: extends [\w, ]+)? \{/g;
  let m;
  while ((m = iface.exec(text))) {
    const start = m.index + m[0].length - 1;
    const { type } = parseType(text.slice(start));
    found.push({ local: m[1], type });
  }
  const aliases = new Map();
  for (const e of text.matchAll(/export \{ (I\w+) as (I\w+)/g)) aliases.set(e[1], e[2]);
  return found.map((f) => ({ name: aliases.get(f.local) || f.local, local: f.local, type: f.type }));
}

function loadInterfaces() {
  if (interfaces) return interfaces;
  interfaces = new Map();
  for (const file of [...dtsFiles(modelsDir), ...dtsFiles(apimachineryDir)]) {
    for (const d of parseDeclarations(file)) {
      // An interface with no properties (RawExtension, JSON) accepts anything.
      interfaces.set(d.name, d.type.kind === "object" && d.type.props.size === 0 ? null : d.type);
    }
  }
  return interfaces;
}

function rootType(apiVersion, kind) {
  const file = join(modelsDir, apiVersion, `${kind}.d.ts`);
  if (!existsSync(file)) return null;
  const decl = parseDeclarations(file).find((d) => d.local === `I${kind}`);
  return decl ? decl.type : null;
}

function unknownFields(value, type, path, errors, depth = 0) {
  if (!type || value === null || typeof value !== "object" || depth > 64) return;
  switch (type.kind) {
    case "ref": {
      const all = loadInterfaces();
      if (!all.has(type.name)) return; // a type alias (Quantity, IntOrString, Time)
      return unknownFields(value, all.get(type.name), path, errors, depth + 1);
    }
    case "array":
      if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, type.of, `${path}[${i}]`, errors, depth + 1));
      return;
    case "map":
      if (!Array.isArray(value)) for (const [k, v] of Object.entries(value)) unknownFields(v, type.of, `${path}.${k}`, errors, depth + 1);
      return;
    case "object":
      if (Array.isArray(value)) return;
      for (const [k, v] of Object.entries(value)) {
        if (!type.props.has(k)) errors.push(`${path ? path + "." : ""}${k}: unknown field`);
        else unknownFields(v, type.props.get(k), `${path ? path + "." : ""}${k}`, errors, depth + 1);
      }
      return;
    default:
      return;
  }
}

// Schema errors of one object, as strings; [] when the object is valid.
export async function schemaErrors(doc) {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return ["not a mapping (a Kubernetes object)"];
  const { cls, error } = await modelFor(doc.apiVersion, doc.kind);
  if (error) return [error];
  const errors = [];
  try {
    new cls(doc).validate();
  } catch (e) {
    for (const part of String(e.message).split(/,\s*(?=data)/)) {
      errors.push(part.replace(/^data\/?/, "").replace(/\//g, ".").replace(/\.(\d+)(?=[. ]|$)/g, "[$1]"));
    }
  }
  const root = rootType(doc.apiVersion, doc.kind);
  if (root) unknownFields(doc, root, "", errors);
  else errors.push(`no type declaration for ${doc.apiVersion} ${doc.kind} (cannot check field names)`);
  return errors;
}
