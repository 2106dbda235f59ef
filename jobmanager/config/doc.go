// Package config reads the JobManager's configuration: HCL files like
// those of Nomad and Consul agents, environment variables for secrets,
// and command-line flags, and turns them into a server.Config.
//
// A file sets any of the settings of File, by their hcl names:
//
//	http_addr = "0.0.0.0:8081"
//	provider  = "nomad"
//	slots     = 4
//	taskmanager_memory = "2GiB"
//	restart {
//	  strategy = "fixed-delay"
//	  attempts = 3
//	}
//	state_backend "s3" {
//	  settings = { bucket = "sluice", region = "eu-west-1" }
//	}
//
// Precedence, highest first: a flag given on the command line, an
// environment variable (SLUICE_LOG_LEVEL, SLUICE_LOG_FORMAT, SLUICE_CONSUL,
// SLUICE_CONSUL_TOKEN, SLUICE_CLUSTER, NOMAD_ADDR, NOMAD_TOKEN,
// NOMAD_REGION, NOMAD_NAMESPACE), the files in
// the order given (a later one overrides an earlier one), the default.
// Flags, variables and files are merged setting by setting (Merge), so a
// flag overrides one setting of a block and keeps the others.
//
// Load checks everything it reads and reports every problem at once, each
// with its file, line and column, the setting, and what it takes:
// unknown settings (with the known ones and the closest name), values of
// the wrong type, sizes, durations and names that do not parse.
//
// File's field comments are the one place settings are described:
// internal/docgen turns them into the flags' usage (usage_gen.go) and into
// docs/configuration.md, and its test fails when either is stale.
package config

//go:generate go run ../../internal/docgen
