// Command s3 is Sluice's S3 state backend: a go-plugin process that stores
// checkpoint and savepoint snapshots in an S3 bucket (AWS S3, MinIO,
// versitygw or any S3-compatible server). The store itself is package
// s3store; this main only serves it.
//
// Settings (given by the host through Configure):
//
//	bucket             the bucket (required; it must exist)
//	prefix             a key prefix under which objects are stored
//	region             the signing region (default us-east-1)
//	endpoint           a non-AWS endpoint, e.g. http://127.0.0.1:7070
//	path_style         "true" for path-style addressing (MinIO, versitygw)
//	access_key_id      static credentials; without them the default AWS
//	secret_access_key  chain is used (AWS_ACCESS_KEY_ID and friends, shared
//	session_token      config and credentials files, instance roles)
package main
