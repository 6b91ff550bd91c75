// Reads one object with the AWS SDK for JavaScript and prints what it got as one JSON line:
// {"size":N,"sha256":"hex","contentType":"...","cacheControl":"...","etag":"..."}.
// Proves that what photoshare writes is an ordinary S3 object to other S3 clients.
//
//   node readback.mjs BUCKET KEY ENDPOINT     (s3rver: path style, credentials S3RVER/S3RVER)
import { createHash } from 'node:crypto';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

const [bucket, key, endpoint] = process.argv.slice(2);
if (!bucket || !key || !endpoint) {
  console.error('usage: node readback.mjs BUCKET KEY ENDPOINT');
  process.exit(2);
}
const client = new S3Client({
  endpoint,
  region: process.env.AWS_REGION || 'us-east-1',
  forcePathStyle: true,
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID || 'S3RVER',
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY || 'S3RVER',
  },
});
try {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = Buffer.from(await out.Body.transformToByteArray());
  console.log(JSON.stringify({
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    contentType: out.ContentType ?? null,
    cacheControl: out.CacheControl ?? null,
    etag: out.ETag ?? null,
  }));
} catch (e) {
  console.error(`readback: ${e.name}: ${e.message}`);
  process.exit(1);
} finally {
  client.destroy();
}
