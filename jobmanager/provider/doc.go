// Package provider is where TaskManagers come from. The JobManager asks a
// [Provider] for the TaskManagers of a job ([Provider.Ensure]); they then
// start and register with the JobManager on their own, which is not this
// package's concern. The provider tells the JobManager of TaskManagers that
// died ([Provider.Lost]); the JobManager replaces them by calling Ensure
// again with the same request, and stops them with [Provider.Release] when
// the job ends.
//
// Two providers exist:
//
//   - [Local] runs each TaskManager as a child process of the JobManager,
//     from a binary on the local disk. Each gets an id
//     "<first 8 characters of the job id>-tm-<n>", its own log file in the
//     work directory, and the id in the environment variable
//     [EnvTaskManagerID]. On Linux the children are killed if the
//     JobManager dies (see [Local]).
//   - [Standalone] starts nothing: TaskManagers are started by hand and
//     register themselves.
//
// A Nomad provider will implement the same interface by asking Nomad for
// allocations of the job's artifact and watching them.
package provider
