#!/usr/bin/env node
// Generates S3 requests deterministically (seeded) and signs each with the AWS SDK for
// JavaScript's SigV4 signer, configured as the S3 client configures it, then writes inputs and
// expected outputs as JSON for compare.cpp to check photoshare's src/blob/sigv4.cpp against.
//
//   node generate.js OUT.json [--count N] [--client-count N] [--seed S]
//
// The signer and its S3 configuration (read in @aws-sdk/client-s3 3.940 and
// @aws-sdk/s3-request-presigner; the same @smithy versions are pinned in package.json):
//  - @smithy/signature-v4 SignatureV4 is the signer the S3 client builds (through
//    SignatureV4MultiRegion, which delegates to it for SigV4); its results are the expected ones.
//  - @aws-sdk/signature-v4, the package the issue names, is now a deprecated re-export of
//    @smithy/signature-v4 1.1. Every case is signed with it too. It sorts the query by the
//    names and values BEFORE encoding them (the spec and the current signer sort the encoded
//    strings), so it disagrees whenever the two orders differ (e.g. "é" vs "z", or "a b" vs
//    "a-b"); such a disagreement is counted and reported, any other one is an error.
//  - uriEscapePath: false. client-s3's runtimeConfig.shared sets signingEscapePath: false and
//    @aws-sdk/core passes it to the signer as uriEscapePath. The signer then takes request.path
//    as the canonical URI unchanged: no second encoding, no normalisation. The path it signs is
//    the one the S3 serializer built, each segment of the key encoded once with
//    extendedEncodeURIComponent ('/' kept). (uriEscapePath: true, the default for other
//    services, would normalise "." / ".." / "//" and encode the path a second time.)
//  - applyChecksum: true for header signing (the signer's default; the S3 client does not
//    change it): x-amz-content-sha256 is added with the payload hash unless already present.
//  - sha256: @smithy/hash-node Hash bound to "sha256", as the S3 client uses in Node.
//  - Presigning, two forms:
//     "presign": the S3 documentation's form (what photoshare produces): only host signed,
//        payload UNSIGNED-PAYLOAD, no X-Amz-Content-Sha256 in the query.
//     "presign-sdk": what S3RequestPresigner (getSignedUrl) does: it sets the header
//        X-Amz-Content-Sha256: UNSIGNED-PAYLOAD, which SignatureV4.presign hoists into the
//        query like every x-amz-* header, makes content-type unsignable, and keeps the
//        client's x-id query parameter. photoshare reproduces it by passing those two query
//        parameters to presign(); the signatures must still match.
//  - Then the S3 client itself (@aws-sdk/client-s3 and @aws-sdk/s3-request-presigner, pinned):
//    Get/Put/Head/Delete/ListObjectsV2/multipart commands with generated keys, sent through a
//    client whose last middleware keeps the signed request instead of sending it ("client-sign"),
//    and getSignedUrl ("client-presign"). This proves the configuration above is what the
//    client really does. The client's clock is pinned (Date.now) and its random
//    amz-sdk-invocation-id replaced by a seeded one before signing, so the file stays the same
//    for the same seed.
// Header names the SDK never signs (user-agent, cache-control, ...; ALWAYS_UNSIGNABLE_HEADERS)
// and the date header (which the SDK deletes) are not generated: photoshare signs whatever it is
// given, so those would differ by design, not by error.
"use strict";

const fs = require("node:fs");
const { SignatureV4, getCanonicalHeaders, getCanonicalQuery, getPayloadHash, ALWAYS_UNSIGNABLE_HEADERS } =
    require("@smithy/signature-v4");
const { SignatureV4: LegacySignatureV4, getCanonicalQuery: legacyCanonicalQuery } = require("@aws-sdk/signature-v4");
const { Hash } = require("@smithy/hash-node");
const { extendedEncodeURIComponent } = require("@smithy/core/protocols");

const s3 = require("@aws-sdk/client-s3");
const { getSignedUrl } = require("@aws-sdk/s3-request-presigner");

const sha256 = Hash.bind(null, "sha256");

// ---- arguments ---------------------------------------------------------------------------
const args = process.argv.slice(2);
const out = args.find((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1].startsWith("--")));
const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
};
const count = option("--count", 500);
const clientCount = option("--client-count", 200);
const seed = option("--seed", 20240229);
if (!out || !Number.isInteger(count) || count < 1 || !Number.isInteger(clientCount) || clientCount < 0 ||
    !Number.isInteger(seed)) {
    console.error("usage: node generate.js OUT.json [--count N] [--client-count N] [--seed S]");
    process.exit(2);
}

// ---- a small seeded generator (xorshift32), so the same seed gives the same file --------
let state = seed >>> 0 || 1;
function next() {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
}
const below = (n) => next() % n;
const chance = (p) => next() / 0x100000000 < p;
const pick = (list) => list[below(list.length)];
const repeat = (n, f) => Array.from({ length: n }, f);

// ---- request material --------------------------------------------------------------------
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
// Characters that matter to encoding: reserved and sub-delims, '%', '+', space, the
// unreserved "-._~", and non-ASCII (2-, 3- and 4-byte UTF-8, a no-break space, a combining mark).
const ODD = [" ", "  ", "+", "%", "%20", "%2F", "~", "=", "&", "$", "!", "'", "(", ")", "*", "@", ":", ",", ";",
    "#", "?", "[", "]", "\"", "<", ">", "^", "`", "{", "|", "}", "\\", "-", ".", "_", "é", "ü", "ß", "日本",
    "😀", "\u00a0", "e\u0301", "Ω", "\u2028"];
const word = (max = 8) => repeat(1 + below(max), () => ALNUM[below(ALNUM.length)]).join("");
const oddText = (parts = 6) => repeat(1 + below(parts), () => (chance(0.5) ? word(5) : pick(ODD))).join("");

function objectKey() {
    // Segments joined by '/', with runs of '/', empty and dot segments, odd characters.
    const segments = repeat(1 + below(4), () => {
        const r = below(10);
        if (r === 0) return "";
        if (r === 1) return pick([".", ".."]);
        if (r < 5) return word();
        return oddText();
    });
    let key = segments.join(chance(0.15) ? "//" : "/");
    if (chance(0.1)) key += "/";
    return key === "" ? "k" : key;
}

const QUERY_NAMES = ["prefix", "delimiter", "list-type", "continuation-token", "uploadId", "partNumber", "max-keys",
    "response-content-disposition", "response-content-type", "versionId", "uploads", "tagging", "x-id",
    "a b", "x+y", "%", "=", "&", "é", "~t", "A", "a", "B", "_u", "-d", "Z9"];
function queryParams() {
    const n = below(6);
    const params = [];
    for (let i = 0; i < n; ++i) {
        const name = chance(0.7) ? pick(QUERY_NAMES) : oddText(3);
        const value = chance(0.2) ? "" : chance(0.5) ? word(10) : oddText();
        params.push([name, value]);
        if (chance(0.15)) params.push([name, chance(0.3) ? "" : oddText()]);  // a repeated name
    }
    return params;
}

const HEADER_NAMES = ["Content-Type", "Content-MD5", "Content-Disposition", "Content-Language", "Content-Encoding",
    "Range", "If-None-Match", "If-Match", "x-amz-acl", "x-amz-storage-class", "X-Amz-Tagging",
    "x-amz-server-side-encryption", "X-Amz-Meta-Caption", "x-amz-meta-a-b"];
const PRINTABLE = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
function headerValue() {
    // Printable ASCII with leading, trailing and inner runs of spaces and tabs: the canonical
    // value trims and collapses them.
    const pad = () => repeat(below(4), () => pick([" ", " ", "\t"])).join("");
    const parts = repeat(1 + below(4), () => repeat(1 + below(8), () => PRINTABLE[below(PRINTABLE.length)]).join(""));
    return pad() + parts.join(chance(0.5) ? "   " : " \t ") + pad();
}
function extraHeaders() {
    const headers = [];
    const used = new Set();
    for (let i = below(5); i > 0; --i) {
        const name = chance(0.8) ? pick(HEADER_NAMES) : `x-amz-meta-${word(6)}`;
        const lower = name.toLowerCase();
        if (used.has(lower) || ALWAYS_UNSIGNABLE_HEADERS[lower]) continue;  // the SDK takes one value per name
        used.add(lower);
        headers.push([chance(0.3) ? name.toUpperCase() : name, headerValue()]);
    }
    return headers;
}

function credentials() {
    const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const b64 = ALNUM + "+/";
    const c = {
        accessKeyId: (chance(0.5) ? "AKIA" : "ASIA") + repeat(16, () => upper[below(upper.length)]).join(""),
        secretAccessKey: repeat(40, () => b64[below(b64.length)]).join(""),
    };
    if (chance(0.4)) c.sessionToken = repeat(100 + below(300), () => b64[below(b64.length)]).join("") + pick(["", "=", "=="]);
    return c;
}

const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1", "auto"];
function endpoint(region) {
    const bucket = pick(["photos", "my.bucket", "b-1", "examplebucket"]);
    const style = below(3);
    if (style === 0) return { host: `${bucket}.s3.${region}.amazonaws.com`, prefix: "" };     // virtual-hosted
    if (style === 1) return { host: `s3.${region}.amazonaws.com`, prefix: `/${bucket}` };    // path style
    return { host: pick(["localhost:4568", "127.0.0.1:9000", "[::1]:4568"]), prefix: `/${bucket}` };  // local S3
}

// The S3 serializer's path: each segment of the key encoded once ('/' kept).
const encodeKey = (key) => key.split("/").map(extendedEncodeURIComponent).join("/");

function sdkQuery(params) {
    // The SDK's query object: one entry per name, an array for a repeated name.
    const query = {};
    for (const [name, value] of params) {
        if (!(name in query)) query[name] = value;
        else if (Array.isArray(query[name])) query[name].push(value);
        else query[name] = [query[name], value];
    }
    return query;
}
const flatQuery = (query) => Object.entries(query).flatMap(([n, v]) => (Array.isArray(v) ? v.map((x) => [n, x]) : [[n, v]]));

// Fixed cases first (the edges), then random ones.
const FIXED = [
    { method: "GET", key: "", params: [["list-type", "2"], ["prefix", "a b/"], ["delimiter", "/"]] },
    { method: "GET", key: "", params: [["lifecycle", ""]] },
    { method: "POST", key: "", params: [["delete", ""]] },
    { method: "POST", key: "big photo.jpg", params: [["uploads", ""]] },
    { method: "PUT", key: "big photo.jpg", params: [["partNumber", "1"], ["uploadId", "VXBsb2FkIElE+/="]] },
    { method: "GET", key: "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", params: [] },
    { method: "GET", key: PRINTABLE, params: [[PRINTABLE, PRINTABLE]] },
    { method: "GET", key: "a//b/../c/./d/", params: [] },
    { method: "GET", key: "../..", params: [] },
    { method: "HEAD", key: "/", params: [] },
    { method: "DELETE", key: "caf\u00e9/\u65e5\u672c/\u{1F600}.jpg", params: [["\u00e9", "\u00fc"]] },
    { method: "GET", key: "%2F%20+", params: [["a", "2"], ["a", "1"], ["a", ""], ["b", ""]] },
];

async function main() {
    const cases = [];
    let legacyQueryOrder = 0;
    for (let i = 0; i < count; ++i) {
        const fixed = i < FIXED.length ? FIXED[i] : null;
        const kind = fixed ? (i % 2 ? "presign" : "sign") : pick(["sign", "sign", "sign", "presign", "presign-sdk"]);
        const region = pick(REGIONS);
        const creds = credentials();
        const { host, prefix } = endpoint(region);
        const key = fixed ? fixed.key : objectKey();
        const path = `${prefix}/${key}`;
        const sdkPath = `${prefix}/${encodeKey(key)}`;
        const method = fixed ? fixed.method : pick(["GET", "GET", "PUT", "HEAD", "DELETE", "POST"]);
        let params = fixed ? fixed.params : queryParams();
        // Spread over 2010..2035 with milliseconds, which the amz date truncates.
        const timeMs = Date.UTC(2010, 0, 1) + below(25 * 365) * 86400000 + below(86400000);
        const signingDate = new Date(timeMs);
        const config = { service: "s3", region, credentials: creds, sha256, uriEscapePath: false };
        const signers = [new SignatureV4(config), new LegacySignatureV4(config)];

        const c = {
            id: i, kind, method, path, sdk_path: sdkPath, host,
            access_key_id: creds.accessKeyId, secret_access_key: creds.secretAccessKey,
            session_token: creds.sessionToken ?? "", region, time_ms: timeMs,
        };
        let results;
        if (kind === "sign") {
            const headers = [["Host", host], ...extraHeaders()];
            let body = null;
            let unsignedPayload = false;
            if (method === "PUT" || method === "POST") {
                if (chance(0.3)) unsignedPayload = true;
                else body = chance(0.2) ? "" : oddText(20);
            }
            const sdkHeaders = Object.fromEntries(headers);
            if (unsignedPayload) sdkHeaders["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
            const request = { method, protocol: "https:", hostname: host, path: sdkPath, query: sdkQuery(params), headers: sdkHeaders, body: body ?? undefined };
            results = [];
            for (const signer of signers) {
                const signed = await signer.sign(structuredClone(request), { signingDate });
                const canonicalHeaders = getCanonicalHeaders(signed);  // authorization is never signed
                results.push({
                    authorization: signed.headers.authorization,
                    x_amz_date: signed.headers["x-amz-date"],
                    x_amz_content_sha256: signed.headers["x-amz-content-sha256"],
                    x_amz_security_token: signed.headers["x-amz-security-token"] ?? "",
                    canonical_request: signers[0].createCanonicalRequest(signed, canonicalHeaders, await getPayloadHash(signed, sha256)),
                });
            }
            Object.assign(c, { query: params, headers, body, unsigned_payload: unsignedPayload });
        } else {
            const expires = pick([1, 60, 900, 3600, 86400, 604800, 1 + below(604800)]);
            const headers = { host };
            const options = { signingDate, expiresIn: expires, unsignableHeaders: new Set(), unhoistableHeaders: new Set() };
            if (kind === "presign") {
                // Only host signed, payload UNSIGNED-PAYLOAD, nothing hoisted: the S3 documentation's form.
                headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
                options.unsignableHeaders.add("x-amz-content-sha256");
                options.unhoistableHeaders.add("x-amz-content-sha256");
            } else {
                // S3RequestPresigner.prepareRequest: content-type unsignable, X-Amz-Content-Sha256
                // header (hoisted to the query by presign), and the client's x-id parameter.
                options.unsignableHeaders.add("content-type");
                headers["X-Amz-Content-Sha256"] = "UNSIGNED-PAYLOAD";
                params = [...params, ["x-id", pick(["GetObject", "PutObject", "HeadObject", "DeleteObject"])]];
            }
            const request = { method, protocol: "https:", hostname: host, path: sdkPath, query: sdkQuery(params), headers };
            results = [];
            for (const signer of signers) {
                const presigned = await signer.presign(structuredClone(request), { ...options });
                const canonicalHeaders = getCanonicalHeaders(presigned, options.unsignableHeaders);
                results.push({
                    query: flatQuery(presigned.query),
                    canonical_request: signers[0].createCanonicalRequest(presigned, canonicalHeaders, await getPayloadHash(request, sha256)),
                });
            }
            // What photoshare's presign() is given: the user's query, plus for the SDK form the
            // header the presigner hoists.
            const ours = kind === "presign" ? params : [...params, ["X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"]];
            Object.assign(c, { query: ours, headers: [["Host", host]], expires });
        }
        if (JSON.stringify(results[0]) !== JSON.stringify(results[1])) {
            // Explained only by the legacy signer's query order (see the top of this file).
            const query = { query: sdkQuery(kind === "sign" ? params : results[0].query) };
            if (getCanonicalQuery(query) === legacyCanonicalQuery(query)) {
                console.error(`case ${i}: @smithy/signature-v4 and @aws-sdk/signature-v4 disagree:\n` +
                    JSON.stringify(results, null, 1));
                process.exit(1);
            }
            ++legacyQueryOrder;
        }
        c.expected = results[0];
        cases.push(c);
    }

    for (let i = 0; i < clientCount; ++i) {
        cases.push(await clientCase(count + i));
    }

    const version = (p) => require(`${p}/package.json`).version;
    const legacyInner = require.resolve("@smithy/signature-v4/package.json", { paths: [require.resolve("@aws-sdk/signature-v4")] });
    const doc = {
        about: "AWS SDK for JavaScript SigV4 signatures of generated S3 requests (tests/sigv4-sdk/generate.js)",
        seed, count,
        sdk: {
            "@smithy/signature-v4": version("@smithy/signature-v4"),
            "@aws-sdk/signature-v4": `${version("@aws-sdk/signature-v4")} (@smithy/signature-v4 ${require(legacyInner).version})`,
            "@aws-sdk/client-s3": version("@aws-sdk/client-s3"),
            "@aws-sdk/s3-request-presigner": version("@aws-sdk/s3-request-presigner"),
            node: process.version,
        },
        configuration: { service: "s3", uriEscapePath: false, applyChecksum: true, sha256: "@smithy/hash-node sha256" },
        cases,
    };
    fs.writeFileSync(out, JSON.stringify(doc, null, 1) + "\n");
    const kinds = {};
    for (const c of cases) kinds[c.kind] = (kinds[c.kind] ?? 0) + 1;
    console.log(`generate.js: ${cases.length} cases (${Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(", ")}), ` +
        `seed ${seed}, signed by @smithy/signature-v4 ${doc.sdk["@smithy/signature-v4"]} -> ${out}`);
    console.log(`generate.js: @aws-sdk/signature-v4 ${doc.sdk["@aws-sdk/signature-v4"]} agrees on ` +
        `${cases.length - legacyQueryOrder}; differs on ${legacyQueryOrder} only by sorting the query before encoding it`);
}

// ---- through the S3 client itself -----------------------------------------------------------
const decodePath = (path) => path.split("/").map(decodeURIComponent).join("/");
function parseQuery(search) {
    // The SDK's URLs encode every reserved character ('+' too), so splitting is exact.
    return search === "" ? [] : search.split("&").map((p) => {
        const eq = p.indexOf("=");
        return eq < 0 ? [decodeURIComponent(p), ""] : [decodeURIComponent(p.slice(0, eq)), decodeURIComponent(p.slice(eq + 1))];
    });
}
const seededUuid = () => repeat(4, () => next().toString(16).padStart(8, "0")).join("").replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");

function clientCommand(presign) {
    const Bucket = pick(["photos", "examplebucket", "b-1"]);
    const Key = objectKey();
    const r = below(8);
    if (r === 0) return new s3.GetObjectCommand({ Bucket, Key, ...(!presign && chance(0.5) ? { Range: "bytes=0-9" } : {}),
        ...(chance(0.5) ? { ResponseContentDisposition: `attachment; filename="${oddText(3)}"` } : {}) });
    // A presigned URL is made before the body exists (with one, the presigner signs content-length).
    const body = presign ? {} : { Body: oddText(20) };
    if (r === 1) return new s3.PutObjectCommand({ Bucket, Key, ...body, ContentType: "image/jpeg",
        CacheControl: "public, max-age=31536000", Metadata: { caption: oddText(3).replace(/[^\x20-\x7e]/g, "_") } });
    if (r === 2) return new s3.HeadObjectCommand({ Bucket, Key });
    if (r === 3) return new s3.DeleteObjectCommand({ Bucket, Key });
    if (r === 4) return new s3.ListObjectsV2Command({ Bucket, Prefix: Key, Delimiter: "/", MaxKeys: 1 + below(1000),
        ...(chance(0.5) ? { ContinuationToken: oddText(4) } : {}) });
    if (r === 5) return new s3.CreateMultipartUploadCommand({ Bucket, Key, ContentType: "image/png" });
    if (r === 6) return new s3.UploadPartCommand({ Bucket, Key, UploadId: oddText(4), PartNumber: 1 + below(10000), ...body });
    return new s3.AbortMultipartUploadCommand({ Bucket, Key, UploadId: oddText(4) });
}

async function clientCase(id) {
    const region = pick(["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"]);
    const creds = credentials();
    const local = chance(0.2);  // a local S3 such as s3rver: http, path style, a port
    const client = new s3.S3Client({
        region, credentials: creds, forcePathStyle: local || chance(0.4),
        ...(local ? { endpoint: pick(["http://localhost:4568", "http://127.0.0.1:9000"]) } : {}),
    });
    const timeMs = Date.UTC(2010, 0, 1) + below(25 * 365) * 86400000 + below(86400000);
    const invocationId = seededUuid();
    const presign = chance(0.5);  // presigned URLs sign host only: no Range, and no listing
    let command = clientCommand(presign);
    while (presign && command instanceof s3.ListObjectsV2Command) command = clientCommand(presign);
    const c = { id, kind: presign ? "client-presign" : "client-sign", command: command.constructor.name,
        access_key_id: creds.accessKeyId, secret_access_key: creds.secretAccessKey, session_token: creds.sessionToken ?? "",
        region, time_ms: timeMs };

    if (presign) {
        const expires = pick([1, 900, 3600, 604800, 1 + below(604800)]);
        let method;
        client.middlewareStack.add((next) => async (args) => {
            method = args.request.method;
            return next(args);
        }, { name: "keepMethod", step: "build" });
        const href = await getSignedUrl(client, command, { expiresIn: expires, signingDate: new Date(timeMs) });
        // Split by hand: new URL() would resolve "." and ".." segments, which S3 keeps.
        const [, scheme, host, pathname, search] = href.match(/^([a-z]+):\/\/([^/]+)(\/[^?]*)\?(.*)$/);
        const query = parseQuery(search);
        const get = (name) => query.find(([n]) => n === name)?.[1];
        if (get("X-Amz-SignedHeaders") !== "host") {
            throw new Error(`case ${id}: the presigner signed ${get("X-Amz-SignedHeaders")}, photoshare's presign() signs host only`);
        }
        // photoshare's presign() adds these itself; everything else in the URL is its input.
        const added = new Set(["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
            "X-Amz-Security-Token", "X-Amz-Signature"]);
        const canonicalQuery = getCanonicalQuery({ query: sdkQuery(query.filter(([n]) => n !== "X-Amz-Signature")) });
        Object.assign(c, {
            method, scheme, host, path: decodePath(pathname), sdk_path: pathname,
            query: query.filter(([n]) => !added.has(n)), headers: [["Host", host]], expires,
            expected: { query, canonical_request: `(reconstructed from the URL)\n\n${canonicalQuery}\n` },
        });
        return c;
    }

    let signed;
    client.middlewareStack.addRelativeTo((next) => async (args) => {
        args.request.headers["amz-sdk-invocation-id"] = invocationId;
        return next(args);
    }, { name: "seededInvocationId", relation: "before", toMiddleware: "httpSigningMiddleware" });
    client.middlewareStack.add(() => async (args) => {
        signed = args.request;
        return { response: { statusCode: 200, headers: {}, body: undefined }, output: {} };
    }, { name: "keepSignedRequest", step: "finalizeRequest", priority: "low" });
    const now = Date.now;
    Date.now = () => timeMs;
    try {
        await client.send(command);
    } catch (e) {
        if (!signed) throw e;  // the fake response need not deserialise; the request is what counts
    } finally {
        Date.now = now;
    }
    const auth = signed.headers.authorization;
    const signedNames = auth.match(/SignedHeaders=([^,]+)/)[1].split(";");
    const generated = new Set(["x-amz-date", "x-amz-content-sha256", "x-amz-security-token"]);
    const payloadHash = signed.headers["x-amz-content-sha256"];
    const body = typeof signed.body === "string" ? signed.body : null;
    if (body === null && payloadHash !== "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" &&
        payloadHash !== "UNSIGNED-PAYLOAD") {
        throw new Error(`case ${id}: a hashed body that is not a string`);
    }
    Object.assign(c, {
        method: signed.method, host: signed.headers.host, path: decodePath(signed.path), sdk_path: signed.path,
        query: flatQuery(signed.query ?? {}),
        headers: Object.entries(signed.headers).filter(([n]) => signedNames.includes(n.toLowerCase()) && !generated.has(n.toLowerCase())),
        body, unsigned_payload: payloadHash === "UNSIGNED-PAYLOAD",
        expected: {
            authorization: auth, x_amz_date: signed.headers["x-amz-date"], x_amz_content_sha256: payloadHash,
            x_amz_security_token: signed.headers["x-amz-security-token"] ?? "",
            canonical_request: new SignatureV4({ service: "s3", region, credentials: creds, sha256, uriEscapePath: false })
                .createCanonicalRequest(signed, getCanonicalHeaders(signed), payloadHash),
        },
    });
    return c;
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
