#!/usr/bin/env node
// Validates deployment files and exits 1 on any mistake (tests/deploy/run.sh runs the whole
// suite; this is the same check for one path, for use by hand or in another pipeline):
//
//   node tests/deploy/validate.mjs k8s [PATH] [--generic]   default deploy/k8s; --generic
//                                                    leaves out photoshare's own rules
//   node tests/deploy/validate.mjs compose [FILE]    default deploy/docker/compose.yaml
//   node tests/deploy/validate.mjs dockerfile [FILE] default deploy/docker/Dockerfile
import { repoPath } from "./lib/repo.mjs";

const args = process.argv.slice(2);
const [what = "k8s", path] = args.filter((a) => !a.startsWith("--"));
let errors;
if (what === "k8s") {
  const { validateManifests } = await import("./lib/k8s.mjs");
  errors = await validateManifests(path || repoPath("deploy/k8s"), { photoshare: !args.includes("--generic") });
} else if (what === "compose") {
  const { validateCompose } = await import("./lib/compose.mjs");
  errors = await validateCompose(path || repoPath("deploy/docker/compose.yaml"));
} else if (what === "dockerfile") {
  const { validateDockerfile } = await import("./lib/dockerfile.mjs");
  errors = validateDockerfile(path || repoPath("deploy/docker/Dockerfile"));
} else {
  console.error("usage: validate.mjs k8s|compose|dockerfile [PATH]");
  process.exit(2);
}
for (const e of errors) console.error(`error: ${e}`);
console.log(errors.length ? `${what}: ${errors.length} error(s)` : `${what}: valid`);
process.exit(errors.length ? 1 : 0);
