// Package api is the JobManager's REST API under /v1/: the JSON types that
// cross it, the routes, and a Go client that jmctl and tests use.
//
// Routes (errors are 4xx/5xx with a JSON body {"error": "..."}):
//
//	PUT  /v1/artifacts/{sha256}   upload a job binary; the body must hash to {sha256}
//	HEAD /v1/artifacts/{sha256}   200 if stored, 404 if not
//	GET  /v1/artifacts/{sha256}   download it (Nomad fetches TaskManager binaries here)
//	POST /v1/jobs                 SubmitRequest -> 201 SubmitResponse
//	GET  /v1/jobs                 JobList
//	GET  /v1/jobs/{id}            JobDetail
//	GET  /v1/jobs/{id}/graph      JobGraph: tasks (operator chains) and the edges between them
//	POST /v1/jobs/{id}/cancel     202 JobSummary
//	GET  /v1/jobs/{id}/checkpoints CheckpointList
//	POST /v1/jobs/{id}/savepoints SavepointRequest -> 202 Savepoint
//	POST /v1/jobs/{id}/stop       SavepointRequest -> 202 Savepoint (the job stops once it is written)
//	GET  /v1/jobs/{id}/savepoints/{n} Savepoint
//	POST /v1/savepoints/dispose   DisposeRequest -> 200
//	GET  /v1/taskmanagers         TaskManagerList
//	GET  /v1/overview             Overview
//
// The same listener serves the dashboard (package dashboard) at / and
// /ui/, a browser client of these routes.
package api
