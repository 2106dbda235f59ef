// Package rpc is the gRPC control protocol between the JobManager and its
// TaskManagers (control.proto and the code generated from it by
// `make proto`). Records do not travel here: they use the TaskManagers'
// yamux data plane.
package rpc

// Version is the control protocol version this build speaks.
const Version = 1
