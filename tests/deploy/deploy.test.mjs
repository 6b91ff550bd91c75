// The deployment files (deploy/k8s, deploy/docker) checked without a cluster and without
// a Docker engine: the Kubernetes manifests against the Kubernetes schemas and against each
// other, compose.yaml against the Compose schema and itself, the Dockerfile against the
// repository and the binary; then each check is shown to catch a deliberately broken copy;
// then the parts that can run here run for real: the image's health check script against
// the photoshare binary, compose's HAProxy configuration (haproxy -c, and HAProxy finding
// photoshare servers through a DNS server as Docker's would), compose's memcached health
// check against memcached.
//
//   tests/deploy/run.sh            (installs the npm packages first; what scripts/test runs)
//   node --test tests/deploy/      (when they are installed)
import assert from "node:assert/strict";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";

import { validateCompose, interpolate } from "./lib/compose.mjs";
import { startDns } from "./lib/dns.mjs";
import { dockerignoreMatcher, neededPackages, parseDockerfile, validateDockerfile } from "./lib/dockerfile.mjs";
import { loadDocuments, validateManifests } from "./lib/k8s.mjs";
import { modelsVersion } from "./lib/k8s-schema.mjs";
import { binary, freePort, get, run, start, startPhotoshare, stop, stopAll, tempDir, waitFor, which } from "./lib/procs.mjs";
import { repoPath } from "./lib/repo.mjs";

const k8sDir = repoPath("deploy/k8s");
const composeFile = repoPath("deploy/docker/compose.yaml");
const dockerfile = repoPath("deploy/docker/Dockerfile");
const haproxyCfg = repoPath("deploy/docker/haproxy.cfg");
const healthcheckScript = repoPath("deploy/docker/healthcheck.sh");
const composeEnv = { POSTGRES_PASSWORD: "pw", PHOTOSHARE_ADMIN_TOKEN: "token" };

after(stopAll);

function replaceOnce(text, from, to, where) {
  assert.ok(text.includes(from), `the mutation's text is no longer in ${where}: ${JSON.stringify(from)} (update the test)`);
  return text.replace(from, to);
}

function expectError(errors, expected, what) {
  assert.ok(errors.length > 0, `${what}: expected an error containing "${expected}", got none`);
  assert.ok(
    errors.some((e) => e.includes(expected)),
    `${what}: expected an error containing "${expected}", got:\n  ${errors.join("\n  ")}`,
  );
}

// --- Kubernetes -----------------------------------------------------------------------------

describe("deploy/k8s", () => {
  test(`every manifest is valid (Kubernetes schemas of kubernetes-models ${modelsVersion()}, strict fields, cross-references)`, async () => {
    const errors = await validateManifests(k8sDir);
    assert.deepEqual(errors, []);
  });

  test("has the objects the deployment needs", () => {
    const { docs } = loadDocuments(k8sDir);
    const kinds = docs.map((d) => `${d.obj.apiVersion} ${d.obj.kind}`);
    for (const k of ["apps/v1 Deployment", "v1 Service", "networking.k8s.io/v1 Ingress", "autoscaling/v2 HorizontalPodAutoscaler", "policy/v1 PodDisruptionBudget", "v1 ConfigMap", "v1 Secret"]) {
      assert.ok(kinds.includes(k), `no ${k} in deploy/k8s`);
    }
    const hpa = docs.find((d) => d.obj.kind === "HorizontalPodAutoscaler").obj;
    const types = hpa.spec.metrics.map((m) => m.type);
    assert.ok(types.includes("Pods") && types.includes("Resource"), "the HPA scales on a custom Pods metric with a Resource (CPU) fallback");
  });

  // Each mutation is one mistake in a copy of the real manifests; the validator must name it.
  const mutations = [
    ["deployment.yaml", "readinessProbe:", "readinessprobe:", "readinessprobe: unknown field"],
    ["deployment.yaml", "containerPort: 8080", 'containerPort: "8080"', "containerPort must be integer"],
    ["deployment.yaml", "kind: Deployment\n", "kind: Deploymnet\n", "unknown kind Deploymnet in apps/v1"],
    ["pdb.yaml", "apiVersion: policy/v1", "apiVersion: policy/v1beta1", "no longer served"],
    ["deployment.yaml", "        app.kubernetes.io/component: web\n        app.kubernetes.io/part-of", "        app.kubernetes.io/component: api\n        app.kubernetes.io/part-of", "spec.selector does not match the pod template's labels"],
    ["service.yaml", "targetPort: http", "targetPort: web", "targets 'web', which no container of Deployment/photoshare declares"],
    ["deployment.yaml", "path: /readyz\n              port: http", "path: /readyz\n              port: health", "readinessProbe uses port 'health'"],
    ["hpa.yaml", "    name: photoshare\n  minReplicas", "    name: photo-share\n  minReplicas", "scaleTargetRef Deployment/photo-share is not defined"],
    ["hpa.yaml", "name: http_requests_in_flight", "name: http_requests_inflight", "metric http_requests_inflight is served by no prometheus-adapter rule"],
    ["deployment.yaml", "name: photoshare-config", "name: photoshare-confg", "ConfigMap 'photoshare-confg', which is not defined"],
    ["deployment.yaml", "claimName: photoshare-media", "claimName: photoshare-photos", "PersistentVolumeClaim 'photoshare-photos', which is not defined"],
    ["deployment.yaml", "serviceAccountName: photoshare", "serviceAccountName: photoshare-sa", "serviceAccountName 'photoshare-sa' is not defined"],
    ["deployment.yaml", "- name: tmp\n              mountPath: /tmp", "- name: scratch\n              mountPath: /tmp", "volumeMount 'scratch' names no volume"],
    ["ingress.yaml", "                  name: http", "                  name: https", "backend port https is not a port of Service 'photoshare'"],
    ["deployment.yaml", "terminationGracePeriodSeconds: 40", "terminationGracePeriodSeconds: 20", "terminationGracePeriodSeconds 20 < preStop 5s + shutdown_delay 2s + shutdown_timeout 30s"],
    ["configmap.yaml", "PHOTOSHARE_SERVER_SHUTDOWN_TIMEOUT", "PHOTOSHARE_SERVER_SHUTDOWN_TIMOUT", "PHOTOSHARE_SERVER_SHUTDOWN_TIMOUT is not a photoshare setting"],
    ["secret.yaml", "PHOTOSHARE_ADMIN_TOKEN: CHANGE-ME", "PHOTOSHARE_ADMIN_TOKEN: 5f4dcc3b5aa765d61d8327deb882cf99", "PHOTOSHARE_ADMIN_TOKEN must be a CHANGE-ME placeholder"],
    ["deployment.yaml", "              cpu: 500m\n", "", "cpu utilization needs a cpu request on every container"],
    ["deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem must be true"],
    ["deployment.yaml", "path: /healthz\n              port: http\n            periodSeconds: 10", "path: /readyz\n              port: http\n            periodSeconds: 10", "livenessProbe must GET /healthz"],
    ["prometheus-adapter/rules.yaml", "'http_requests_in_flight{namespace", "'http_requests_inflight{namespace", "photoshare exports no series named http_requests_inflight"],
    ["kustomization.yaml", "  - pdb.yaml\n", "", "pdb.yaml is not listed in resources"],
    ["namespace.yaml", "  name: photoshare\n", "  name: Photoshare\n", "is not a valid DNS-1123 label"],
    ["service.yaml", "  type: ClusterIP\n", "  type: ClusterIP\n  bad: [unclosed\n", "YAML:"],
  ];
  for (const [file, from, to, expected] of mutations) {
    test(`rejects a broken ${file}: ${expected}`, async () => {
      const dir = tempDir("photoshare-k8s-");
      try {
        cpSync(k8sDir, dir, { recursive: true });
        const path = join(dir, file);
        writeFileSync(path, replaceOnce(readFileSync(path, "utf8"), from, to, file));
        expectError(await validateManifests(dir), expected, file);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test("the validator's command fails (exit 1) on a deliberately wrong manifest, naming each mistake", () => {
    const r = run(process.execPath, [repoPath("tests/deploy/validate.mjs"), "k8s", repoPath("tests/deploy/fixtures/broken-deployment.yaml"), "--generic"]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    for (const expected of [
      "spec.replicas must be integer",
      "readinessprobe: unknown field",
      "spec.selector does not match",
      "livenessProbe uses port 'health'",
      "ConfigMap 'web-config', which is not defined",
      "targets 'web'",
      "autoscaling/v2beta2 is no longer served",
      "unknown kind PodDisruptionBudjet",
    ]) {
      assert.ok(r.stderr.includes(expected), `missing "${expected}" in:\n${r.stderr}`);
    }
  });

  test("and succeeds (exit 0) on deploy/k8s", () => {
    const r = run(process.execPath, [repoPath("tests/deploy/validate.mjs"), "k8s"]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});

// --- compose.yaml ---------------------------------------------------------------------------

describe("deploy/docker/compose.yaml", () => {
  test("is valid (Compose schema, references between services, volumes, networks, ports; photoshare settings)", async () => {
    assert.deepEqual(await validateCompose(composeFile, { env: composeEnv }), []);
  });

  test("interpolates as Compose does", () => {
    const problems = { required: new Set(), unset: [] };
    const out = interpolate({ a: "x$${y}", b: "${A:-1}", c: "${B:?need B}", d: "${C}" }, { C: "3" }, problems);
    assert.deepEqual(out, { a: "x${y}", b: "1", c: "<B>", d: "3" });
    assert.deepEqual([...problems.required], ["B"]);
  });

  const text = readFileSync(composeFile, "utf8");
  const mutations = [
    ["      postgres:\n        condition: service_healthy", "      postgre:\n        condition: service_healthy", "depends_on postgre, which is not a service"],
    ["- media:/var/lib/photoshare/media", "- medai:/var/lib/photoshare/media", "volume 'medai' is not declared"],
    ["      interval: 5s\n      timeout: 3s\n      retries: 10", "      intervl: 5s\n      timeout: 3s\n      retries: 10", "must NOT have additional properties 'intervl'"],
    ["ipv4_address: 172.30.80.2", "ipv4_address: 172.31.80.2", "outside network backend's subnet"],
    ["PHOTOSHARE_SERVER_TRUSTED_PROXIES: 172.30.80.2", "PHOTOSHARE_SERVER_TRUSTED_PROXIES: 172.30.80.3", "PHOTOSHARE_SERVER_TRUSTED_PROXIES does not include haproxy's address"],
    ["stop_grace_period: 40s", "stop_grace_period: 10s", "stop_grace_period 10s < shutdown_delay + shutdown_timeout"],
    ['"8080:8080"', '"8080:8081"', "publishes container port 8081"],
    ["./haproxy.cfg:", "./haproxy.conf:", "bind-mounted ./haproxy.conf does not exist"],
    ["PHOTOSHARE_SESSIONS_URL: memcached://memcached-1:11211", "PHOTOSHARE_SESSIONS_URL: memcached://memcache-1:11211", "names host 'memcache-1', which is not a service"],
    ["image: postgres:15-bookworm", "image: postgres", "has no tag"],
    ["${PHOTOSHARE_KNOBS_LATENCY_MS:-0}", "${PHOTOSHARE_KNOBS_LATENCY_MS}", "has no default"],
    ["PHOTOSHARE_CACHE_INVALIDATION", "PHOTOSHARE_CACHE_INVALIDATE", "PHOTOSHARE_CACHE_INVALIDATE is not a photoshare setting"],
    ["  memcached-3: *memcached\n", "", "names host 'memcached-3', which is not a service"],
  ];
  for (const [from, to, expected] of mutations) {
    test(`rejects a broken compose.yaml: ${expected}`, async () => {
      expectError(await validateCompose(composeFile, { env: composeEnv, text: replaceOnce(text, from, to, "compose.yaml") }), expected, "compose.yaml");
    });
  }
});

// --- Dockerfile -----------------------------------------------------------------------------

describe("deploy/docker/Dockerfile", () => {
  const text = readFileSync(dockerfile, "utf8");
  const bin = binary();

  test("is valid (stages, base images, packages, non-root USER, HEALTHCHECK, STOPSIGNAL, COPY sources)", () => {
    assert.deepEqual(validateDockerfile(dockerfile, { binary: bin }), []);
  });

  test("has a build stage and a small runtime stage on debian:bookworm-slim", () => {
    const { stages } = parseDockerfile(text);
    assert.deepEqual(stages.map((s) => [s.name, s.image]), [["build", "debian:bookworm-slim"], ["runtime", "debian:bookworm-slim"]]);
  });

  test("runtime packages are those of the libraries build/photoshare links", { skip: bin ? false : "build/photoshare is not built" }, () => {
    const needed = neededPackages(bin);
    assert.ok(needed && needed.size > 5, "readelf/dpkg could not list the libraries");
    const errors = validateDockerfile(dockerfile, { binary: bin, requireBinary: true });
    assert.deepEqual(errors, []);
  });

  test("Dockerfile.dockerignore is read as Docker reads it", () => {
    const excluded = dockerignoreMatcher("*\n!src\n!deploy/docker/healthcheck.sh\nsrc/**/*.tmp\n");
    assert.equal(excluded("build/photoshare"), true);
    assert.equal(excluded("src/app/app.cpp"), false);
    assert.equal(excluded("src/app/x.tmp"), true);
    assert.equal(excluded("deploy/docker/healthcheck.sh"), false);
    assert.equal(excluded("deploy/docker/compose.yaml"), true);
  });

  const mutations = [
    ["USER 10001:10001", "USER photoshare", "use a numeric uid"],
    ["USER 10001:10001", "USER 0", "USER 0 is root"],
    ["USER 10001:10001\n", "", "runtime stage has no USER"],
    ["COPY src/ src/", "COPY source/ src/", "COPY source source/ does not exist"],
    ["-DPHOTOSHARE_TESTS=OFF", "-DPHOTOSHARE_TESTS=ON", "cmake needs -DPHOTOSHARE_TESTS=OFF"],
    ["FROM debian:bookworm-slim AS runtime", "FROM debian:latest AS runtime", "base image debian:latest"],
    ["STOPSIGNAL SIGTERM", "STOPSIGNAL SIGKILL", "STOPSIGNAL SIGTERM is required"],
    [" libhiredis-dev \\", " \\", "does not install scripts/setup's build packages: libhiredis-dev"],
    ["COPY --from=build /src/build/photoshare", "COPY --from=builder /src/build/photoshare", "COPY --from=builder names no earlier stage"],
    [" /src/build/libphotoshare-image.so /usr/local/bin/", " /usr/local/bin/", "copies the binary or its image module without the other"],
    ["PHOTOSHARE_SERVER_LISTEN=0.0.0.0:8080", "PHOTOSHARE_SERVER_LISTEN=127.0.0.1:8080", "PHOTOSHARE_SERVER_LISTEN=0.0.0.0:PORT is needed"],
    ["EXPOSE 8080", "EXPOSE 80", "EXPOSE 8080 (where PHOTOSHARE_SERVER_LISTEN listens) is missing"],
    ['CMD ["photoshare-healthcheck", "/healthz"]', 'CMD ["curl", "-f", "http://localhost:8080/healthz"]', "HEALTHCHECK runs curl, which no COPY puts in the image"],
    ["# syntax=docker/dockerfile:1\n", "", "start the file with `# syntax=docker/dockerfile:1`"],
  ];
  if (bin) {
    mutations.push([" libvips42 \\", " \\", "runtime stage lacks libvips42"]);
    mutations.push(["      ca-certificates \\\n", "      ca-certificates curl \\\n", "runtime stage installs curl, which neither build/photoshare nor its image module links"]);
  }
  for (const [from, to, expected] of mutations) {
    test(`rejects a broken Dockerfile: ${expected}`, () => {
      expectError(validateDockerfile(dockerfile, { binary: bin, text: replaceOnce(text, from, to, "Dockerfile") }), expected, "Dockerfile");
    });
  }

  test("rejects a .dockerignore that would leave out a COPY source", () => {
    const ignore = readFileSync(`${dockerfile}.dockerignore`, "utf8");
    const errors = validateDockerfile(dockerfile, { binary: bin, ignoreText: replaceOnce(ignore, "!web\n", "", "Dockerfile.dockerignore") });
    expectError(errors, "COPY source web/: ", "Dockerfile.dockerignore");
  });
});

// --- what runs here for real ------------------------------------------------------------------

describe("the configurations, run", () => {
  const bin = binary();
  const haproxy = which("haproxy");

  test("haproxy -c accepts deploy/docker/haproxy.cfg", { skip: haproxy ? false : "haproxy is not installed (scripts/setup --tests installs it)" }, () => {
    const r = run(haproxy, ["-c", "-f", haproxyCfg]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test("deploy/docker/haproxy.cfg keeps deploy/haproxy/haproxy.cfg's backend policy", () => {
    const policy = (file) => {
      const text = readFileSync(file, "utf8");
      const backend = /^backend photoshare\n([\s\S]*?)(?=^\S)/m.exec(text)[1];
      return backend
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith("#") && !/^server(-template)?\s/.test(l));
    };
    assert.deepEqual(policy(haproxyCfg), policy(repoPath("deploy/haproxy/haproxy.cfg")));
  });

  test("the image's health check script asks photoshare and fails when it should", { skip: bin ? false : "build/photoshare is not built" }, async () => {
    const dir = tempDir();
    try {
      const port = await freePort();
      const server = await startPhotoshare({ port, name: "hc", dir });
      const check = (path, listen = `0.0.0.0:${port}`) => run("bash", [healthcheckScript, ...(path ? [path] : [])], { env: { ...process.env, PHOTOSHARE_SERVER_LISTEN: listen } });
      assert.equal(check().status, 0, "default /healthz");
      assert.equal(check("/readyz").status, 0, "/readyz");
      assert.equal(check("/readyz", `127.0.0.1:${port}`).status, 0, "a specific address");
      const missing = check("/no-such-page");
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /answered 'HTTP\/1\.1 404/);
      // Draining: /readyz fails at once on SIGTERM (shutdown_delay keeps the server up).
      await stop(server);
      const closed = check("/healthz");
      assert.equal(closed.status, 1);
      assert.match(closed.stderr, /cannot connect/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(
    "HAProxy with compose's configuration finds photoshare replicas through DNS and picks up a new one without a reload",
    { skip: !haproxy ? "haproxy is not installed" : !bin ? "build/photoshare is not built" : false },
    async () => {
      const dir = tempDir();
      const dns = await startDns({ photoshare: ["127.0.0.21"] });
      try {
        const port = await freePort("127.0.0.21", ["127.0.0.22"]);
        for (const [host, name] of [["127.0.0.21", "replica-a"], ["127.0.0.22", "replica-b"]]) {
          mkdirSync(join(dir, name));
          await startPhotoshare({ host, port, name, dir: join(dir, name) });
        }
        const front = await freePort();
        const stats = await freePort();
        // The configuration of compose.yaml, with Docker's addresses replaced by loopback ones.
        let cfg = readFileSync(haproxyCfg, "utf8");
        cfg = replaceOnce(cfg, "nameserver docker 127.0.0.11:53", `nameserver docker 127.0.0.1:${dns.port}`, "haproxy.cfg");
        cfg = replaceOnce(cfg, "bind :8080", `bind 127.0.0.1:${front}`, "haproxy.cfg");
        cfg = replaceOnce(cfg, "bind :8404", `bind 127.0.0.1:${stats}`, "haproxy.cfg");
        cfg = replaceOnce(cfg, "/var/lib/haproxy/haproxy.sock", join(dir, "haproxy.sock"), "haproxy.cfg");
        cfg = replaceOnce(cfg, "photoshare:8080", `photoshare:${port}`, "haproxy.cfg");
        cfg = replaceOnce(cfg, "${PS_HAPROXY_ERRORS-../errors}", repoPath("deploy/errors"), "haproxy.cfg");
        writeFileSync(join(dir, "haproxy.cfg"), cfg);
        start(haproxy, ["-f", join(dir, "haproxy.cfg"), "-db"], { log: join(dir, "haproxy.log") });

        const servedBy = async () => {
          const seen = new Set();
          for (let i = 0; i < 6; i++) {
            const r = await get(`http://127.0.0.1:${front}/healthz`);
            if (r.status === 200) seen.add(String(r.headers["x-served-by"]).split(" ")[0]);
          }
          return seen;
        };
        const log = () => readFileSync(join(dir, "haproxy.log"), "utf8").slice(-3000);
        await waitFor(async () => (await servedBy()).has("replica-a"), { what: "HAProxy to serve from replica-a" }).catch((e) => assert.fail(`${e.message}\n${log()}`));
        assert.deepEqual([...(await servedBy())], ["replica-a"]);
        // A second replica appears in DNS, as after `docker compose up --scale photoshare=2`.
        dns.set("photoshare", ["127.0.0.21", "127.0.0.22"]);
        await waitFor(async () => (await servedBy()).size === 2, { timeoutMs: 20000, what: "HAProxy to add replica-b from DNS" }).catch((e) => assert.fail(`${e.message}\n${log()}`));

        // compose.yaml's health check of the HAProxy service, against this HAProxy.
        const composeDoc = (await import("yaml")).default.parse(readFileSync(composeFile, "utf8"));
        const test = interpolate(composeDoc.services.haproxy.healthcheck.test, composeEnv, { required: new Set(), unset: [] });
        assert.equal(test[0], "CMD");
        const cmd = test.slice(1).map((a) => a.replace("/dev/tcp/127.0.0.1/8404", `/dev/tcp/127.0.0.1/${stats}`));
        const r = run(cmd[0], cmd.slice(1));
        assert.equal(r.status, 0, `haproxy health check failed: ${r.stdout}${r.stderr}`);
      } finally {
        await stopAll();
        await dns.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  const memcached = which("memcached");
  test("compose's memcached health check answers against memcached", { skip: memcached ? false : "memcached is not installed (scripts/setup --tests installs it)" }, async () => {
    const port = await freePort();
    const args = ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "8"];
    if (process.getuid?.() === 0) args.push("-u", "nobody");
    const child = start(memcached, args);
    try {
      const composeDoc = (await import("yaml")).default.parse(readFileSync(composeFile, "utf8"));
      const test = interpolate(composeDoc.services["memcached-1"].healthcheck.test, composeEnv, { required: new Set(), unset: [] });
      const cmd = test.slice(1).map((a) => a.replace("/dev/tcp/127.0.0.1/11211", `/dev/tcp/127.0.0.1/${port}`));
      await waitFor(() => run(cmd[0], cmd.slice(1)).status === 0, { what: "memcached health check to pass" });
      await stop(child);
      assert.notEqual(run(cmd[0], cmd.slice(1)).status, 0, "the check must fail without memcached");
    } finally {
      await stop(child);
    }
  });
});
