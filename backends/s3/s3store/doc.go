// Package s3store is a plugins.Backend that keeps snapshot objects in an S3
// bucket, with the AWS SDK for Go v2. It works against AWS S3 and
// S3-compatible servers (MinIO, versitygw) given an endpoint and path-style
// addressing.
//
// # Layout
//
// An object named N is stored at key P/N, where P is the prefix setting
// (or at N when there is no prefix). Its user metadata holds the lowercase
// hex sha256 of its bytes (x-amz-meta-sluice-sha256), its size
// (x-amz-meta-sluice-size) and its name (x-amz-meta-sluice-name). Get
// verifies all three, the first two when the reader reaches EOF.
//
// A name that cannot be a key is stored at the digest key
// P/.long~/SHA256(N) instead: one whose key would pass S3's 1024 bytes, or
// with a segment longer than 255 bytes, which servers that keep objects as
// files refuse (versitygw's posix backend answers KeyTooLongError). Names
// never contain "~", so digest and staging keys cannot clash with names.
//
// # Writes
//
// Objects are written once, and a name only ever appears complete, with its
// checksum in its metadata. S3 fixes an object's metadata when the write
// starts, while the sha256 of a stream is known only at its end, so Put
// goes one of two ways:
//
//   - Data that fits in one part (PartSize, 8 MiB) is read into memory,
//     hashed, and stored with a single PutObject carrying the metadata,
//     the sha256 as x-amz-checksum-sha256 (so the server verifies the
//     transfer) and If-None-Match: * (so an existing object is never
//     replaced; the server answers 412 and Put returns ErrExists).
//   - Longer data streams through the SDK's multipart manager.Uploader to a
//     staging key P/.staging~/RANDOM, hashed on the way; about
//     (Concurrency+3) parts at most are in memory (32 to 40 MiB measured
//     for a 64 MiB object). Then a server-side multipart copy
//     (UploadPartCopy, CopyPartSize at a time) creates the object's key
//     with the metadata, completed with If-None-Match: *, and the staging
//     object is deleted. The copy costs server time, not client bandwidth
//     (on a local versitygw it takes about 40% of the Put). A HeadObject
//     before the upload fails fast when the name exists, without uploading
//     anything.
//
// A plain CopyObject would be simpler, but versitygw v1.8.0 ignores
// If-None-Match on CopyObject, and AWS limits it to 5 GiB;
// CompleteMultipartUpload honours If-None-Match on both.
//
// If the reader fails, nothing is stored: a single put is never sent and a
// multipart upload is aborted. A process killed between the upload and the
// copy leaves a staging object, and a server that dies mid-upload an
// incomplete multipart upload; neither is visible to List or Get. A bucket
// lifecycle rule on P/.staging~/ that expires objects and aborts incomplete
// multipart uploads after a day reclaims them.
//
// # Listing
//
// ListObjectsV2 returns sizes but not user metadata, so List issues one
// HeadObject per listed object (listConcurrency, 16, at a time) to read the
// checksum, and lists P/.long~/ too (one request when it is empty, as it
// usually is). Objects under the prefix that this backend did not write
// are listed with an empty Checksum; objects deleted between the listing
// and the HeadObject are left out.
package s3store
