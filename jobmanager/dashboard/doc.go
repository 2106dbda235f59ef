// Package dashboard is the JobManager's web dashboard: plain HTML, CSS and
// JavaScript modules embedded in the binary (no build step, nothing fetched
// from elsewhere, so it works offline), which read the same REST API as
// jmctl (fetch("/v1/...")).
//
// It has three pages, routed on the client by location.hash:
//
//   - #/ (overview): the cluster's totals (GET /v1/overview), its
//     TaskManagers with their slots, memory, data address and last
//     heartbeat (GET /v1/taskmanagers), and the jobs that run;
//   - #/jobs: every job with its state, start, duration and restarts
//     (GET /v1/jobs);
//   - #/jobs/{id}: the job's graph of tasks (operator chains) and the
//     partitioning of the edges between them, drawn as SVG
//     (GET /v1/jobs/{id}/graph), with per-task rates computed from two
//     successive polls of GET /v1/jobs/{id}; its subtasks, exceptions and
//     checkpoints (GET /v1/jobs/{id}/checkpoints); and buttons that trigger
//     a savepoint, stop the job with one, or cancel it.
//
// Handler serves the index at / and the assets under /ui/. The server
// mounts it for every path outside /v1/ (the REST API) and /metrics; an
// unknown path outside /ui/ gets the index too, so that a reload of any
// dashboard address works, while an unknown asset is a 404.
package dashboard
