// Package proto is the gRPC protocol between Sluice and its state-backend
// plugins: backend.proto and the code generated from it by `make proto`.
// Plugin authors do not use it directly; package plugins serves and calls
// it.
package proto
