// Package auth decides who may do what on a JobManager. Submitting a job
// uploads a binary the cluster will execute, so an open submit endpoint is
// remote code execution; every request to the REST API and every
// TaskManager registration therefore carries a bearer token, and each
// token has rights:
//
//   - read: the GET endpoints (jobs, checkpoints, TaskManagers, artifacts,
//     metrics);
//   - submit: read, and uploading artifacts, submitting jobs, triggering
//     savepoints;
//   - manage: submit, and cancelling and stopping jobs and disposing of
//     savepoints;
//   - taskmanager: registering a TaskManager on the control endpoint (and
//     fetching artifacts), nothing else.
//
// Tokens come from the JobManager's configuration (a management token, an
// ACL file of named tokens); the TaskManagers a provider starts for a job
// get a job token derived from them (JobToken), which every JobManager of
// the cluster accepts. Secrets are kept only as their
// SHA-256, compared by lookup, and never logged. Read endpoints can be
// opened to anonymous clients separately (Config.AnonymousRead).
//
// The Authorizer has no I/O; the HTTP middleware and gRPC interceptors in
// this package apply it.
package auth
