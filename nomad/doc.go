// Package nomad is Sluice's Nomad integration: the resource provider through
// which the JobManager asks Nomad for TaskManagers, and the generator of the
// jobspecs printed by `jmctl nomad jobspec`. It arrives with the distributed
// runtime's Nomad provider.
package nomad
