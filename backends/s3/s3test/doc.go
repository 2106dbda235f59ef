// Package s3test runs a real S3 server for tests: versitygw, an
// Apache-2.0 S3 gateway, serving a temporary directory through its posix
// backend on a free loopback port.
//
// The binary is installed into the module's ./bin by `make tools`; tests
// find it there or through $SLUICE_VERSITYGW. Start fails the test (it does
// not skip it) when the binary is missing, so a machine without it notices.
//
//	srv := s3test.Start(t)
//	srv.CreateBucket(t, "snapshots")
//	// talk to srv.Endpoint with srv.AccessKey / srv.SecretKey, path style
package s3test
