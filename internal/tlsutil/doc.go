// Package tlsutil turns the TLS settings of Sluice's processes (a
// certificate and key, a CA bundle) into *tls.Config values for the three
// places TLS is used: the JobManager's REST API, the control endpoint
// between JobManager and TaskManagers, and the data plane between
// TaskManagers. With a CA given, servers require and verify client
// certificates (mutual TLS) and clients verify servers against it.
package tlsutil
