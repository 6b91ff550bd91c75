// Makes s3rver's object store whole again before s3rver starts on it, as S3 would be after
// a crash: a PUT that was never acknowledged leaves nothing behind.
//
// s3rver (3.7.1, filesystem store) writes an object in three files — KEY._S3rver_object, then
// KEY._S3rver_object.md5, then KEY._S3rver_metadata.json — and answers the PUT only after the
// last one. Killed in between, it leaves an object whose metadata is missing or cut short; an
// empty metadata file then makes every listing that reaches it fail with 500 for good. So an
// object whose metadata file is missing or is not JSON was never acknowledged: remove it.
//
//   node recover.mjs DATA_DIR      prints what it removed, one key file per line, then a count
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

const OBJECT = '._S3rver_object';
const METADATA = '._S3rver_metadata.json';

const dataDir = process.argv[2];
if (!dataDir) {
  console.error('usage: node recover.mjs DATA_DIR');
  process.exit(2);
}

async function* objects(dir) {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOENT') return;
    throw err;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* objects(path);
    else if (entry.name.endsWith(OBJECT)) yield path.slice(0, -OBJECT.length);
  }
}

async function complete(base) {
  try {
    JSON.parse(await readFile(base + METADATA, 'utf8'));
    return true;
  } catch (err) {
    if (err.code === 'ENOENT' || err instanceof SyntaxError) return false;
    throw err;
  }
}

let removed = 0;
for await (const base of objects(dataDir)) {
  if (await complete(base)) continue;
  await Promise.all([base + OBJECT, base + OBJECT + '.md5', base + METADATA].map(file => rm(file, { force: true })));
  console.log(`removed unacknowledged object ${base}`);
  removed += 1;
}
console.log(`recover: ${removed} unacknowledged object(s) removed from ${dataDir}`);
