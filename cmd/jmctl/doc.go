// Command jmctl controls a Sluice JobManager through its REST API: it
// submits job binaries and lists, inspects and cancels jobs and
// TaskManagers.
//
//	jmctl [--jobmanager ADDR] [--json] COMMAND
//
//	submit BINARY [--parallelism N] [--detached] [-- ARGS...]
//	                    plan the binary (SLUICE_MODE=plan), upload it, submit
//	                    the job and follow it until it ends (or print its id
//	                    with --detached); Ctrl-C stops following, the job keeps
//	                    running
//	list                list the jobs
//	info JOB            show a job, its subtasks and its exceptions
//	cancel JOB [--wait] cancel a job (and follow it until it has ended)
//	checkpoints JOB     list a job's recent checkpoints and savepoints
//	savepoint JOB [--target LOCATION] | --dispose LOCATION
//	                    take a savepoint and follow it, or dispose of one
//	stop JOB --savepoint[=LOCATION]
//	                    take a savepoint, then stop the job
//	rescale JOB --parallelism N
//	                    restart a running job at another parallelism from a
//	                    savepoint, under the same id
//	taskmanagers        list the TaskManagers and their slots
//	overview            TaskManagers, slots and jobs by state
//	nomad jobspec       print Nomad jobspecs for the JobManagers (and a pool)
//	completion SHELL    print a completion script (bash, zsh, fish,
//	                    powershell); JOB arguments complete with job ids
//
// With --consul ADDR, jmctl finds the leading JobManager through Consul.
// The JobManager address is --jobmanager, else the environment variable
// SLUICE_JOBMANAGER, else 127.0.0.1:8081; it is host:port or an http(s) URL.
// --tls-ca FILE (or SLUICE_TLS_CA) verifies an https JobManager against
// that CA bundle, and makes an address without a scheme https.
// --json prints the API's JSON instead of tables. Long flags may be written
// with one dash, as Go's flag package allows (-json, -jobmanager ADDR).
//
// Exit codes:
//
//	0  success
//	1  the job failed or was cancelled (submit without --detached), or
//	   another error
//	2  usage error: bad flags or arguments, a job binary that is missing,
//	   not executable, or that does not print a job graph in plan mode
//	3  the JobManager answered with an error (4xx/5xx), such as an unknown job
//	4  the JobManager is unreachable
//
// Every error is one line on standard error starting with "jmctl: ".
package main
