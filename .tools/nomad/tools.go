//go:build tools

// Package tools records the Nomad agent as this module's one dependency, so
// that `go mod tidy` keeps its requirement; `make tools` builds it with
// `go build github.com/hashicorp/nomad`. The build tag keeps this file out of
// every build.
package tools

import _ "github.com/hashicorp/nomad"
