package config

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/logging"
	"github.com/sluicehq/sluice/jobmanager/restart"
	"github.com/sluicehq/sluice/jobmanager/server"
	"github.com/sluicehq/sluice/nomad"
	"github.com/sluicehq/sluice/taskmanager/network"
)

// DefaultLogLevel is the level of the log when log_level is not set.
const DefaultLogLevel = "info"

// DefaultLogFormat is the format of the log when log_format is not set.
const DefaultLogFormat = logging.FormatText

// defaultMaxArtifactBytes is what the REST API takes a zero
// server.Config.MaxArtifactBytes for.
const defaultMaxArtifactBytes = 1 << 30

// Defaults returns the defaults as a File: server.DefaultConfig, the
// defaults of each restart strategy and of the Nomad provider. Settings
// whose default depends on the machine or on other settings carry a
// default tag in File that describes it.
func Defaults() File {
	d := server.DefaultConfig()
	r := d.Restart
	return File{
		HTTPAddr: &d.HTTPAddr, RPCAddr: &d.RPCAddr, DataDir: &d.DataDir, Provider: &d.Provider,
		Slots:             &d.SlotsPerTaskManager,
		TaskManagerMemory: ptr(FormatSize(d.TaskManagerMemory)),
		StreamWindow:      ptr(FormatSize(d.StreamWindow)),
		MaxArtifactSize:   ptr(FormatSize(defaultMaxArtifactBytes)),
		SlotTimeout:       ptr(FormatDuration(d.SlotTimeout)),
		MaxEndedJobs:      ptr(d.MaxEndedJobs),
		BufferTimeout:     ptr(FormatDuration(d.Exchange.BufferTimeout)),
		LogLevel:          ptr(DefaultLogLevel),
		LogFormat:         ptr(DefaultLogFormat),
		Heartbeat: &Heartbeat{
			Interval: ptr(FormatDuration(d.HeartbeatInterval)),
			Timeout:  ptr(FormatDuration(d.HeartbeatTimeout)),
		},
		Restart: &Restart{
			Strategy:       ptr(string(r.Kind)),
			Attempts:       ptr(r.Attempts),
			Delay:          ptr(FormatDuration(r.Delay)),
			MaxFailures:    ptr(restart.DefaultMaxFailures),
			Interval:       ptr(FormatDuration(restart.DefaultInterval)),
			InitialDelay:   ptr(FormatDuration(restart.DefaultInitialDelay)),
			MaxDelay:       ptr(FormatDuration(restart.DefaultMaxDelay)),
			Multiplier:     ptr(restart.DefaultMultiplier),
			Jitter:         ptr(restart.DefaultJitter),
			ResetThreshold: ptr(FormatDuration(restart.DefaultResetThreshold)),
		},
		StateBackend: &StateBackend{Name: d.StateBackend, Share: &d.ShareStateBackend},
		Consul:       &Consul{Cluster: ptr("default")},
		Nomad: &Nomad{
			Address:        ptr(nomad.DefaultAddress),
			Datacenters:    []string{"*"},
			Driver:         ptr(nomad.DriverRawExec),
			CPUPerSlot:     ptr(nomad.DefaultCPUPerSlot),
			MemoryOverhead: ptr(nomad.DefaultMemoryOverhead),
		},
	}
}

func ptr[T any](v T) *T { return &v }

// Config returns server.DefaultConfig with the settings of f on top, and
// a Logger that writes to standard error at f's log level in its log
// format (LogFormat is "" for text, the default). f must
// have passed its checks (Load, FromEnv and the flags check every value),
// or Config reports its problems.
func (f File) Config() (server.Config, error) {
	c := server.DefaultConfig()
	var errs []error
	str := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	num := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	float := func(dst *float64, src *float64) {
		if src != nil {
			*dst = *src
		}
	}
	dur := func(dst *time.Duration, src *Duration, path string) {
		if src == nil {
			return
		}
		d, err := src.Duration()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
		*dst = d
	}
	str(&c.HTTPAddr, f.HTTPAddr)
	str(&c.RPCAddr, f.RPCAddr)
	str(&c.AdvertiseHost, f.AdvertiseHost)
	str(&c.DataDir, f.DataDir)
	str(&c.ID, f.ID)
	str(&c.Provider, f.Provider)
	num(&c.SlotsPerTaskManager, f.Slots)
	if f.TaskManagerMemory != nil {
		n, err := f.TaskManagerMemory.Bytes()
		if err != nil {
			errs = append(errs, fmt.Errorf("taskmanager_memory: %w", err))
		}
		c.TaskManagerMemory = n
	}
	if f.StreamWindow != nil {
		n, err := f.StreamWindow.Bytes()
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("stream_window: %w", err))
		case n < network.MinStreamWindow || n > network.MaxStreamWindow:
			errs = append(errs, fmt.Errorf("stream_window: %s is outside %s to %s", *f.StreamWindow,
				FormatSize(network.MinStreamWindow), FormatSize(network.MaxStreamWindow)))
		}
		c.StreamWindow = n
	}
	if f.MaxArtifactSize != nil {
		n, err := f.MaxArtifactSize.Bytes()
		if err != nil {
			errs = append(errs, fmt.Errorf("max_artifact_size: %w", err))
		}
		c.MaxArtifactBytes = n
	}
	dur(&c.SlotTimeout, f.SlotTimeout, "slot_timeout")
	num(&c.MaxEndedJobs, f.MaxEndedJobs)
	dur(&c.Exchange.BufferTimeout, f.BufferTimeout, "buffer_timeout")
	if h := f.Heartbeat; h != nil {
		dur(&c.HeartbeatInterval, h.Interval, "heartbeat.interval")
		dur(&c.HeartbeatTimeout, h.Timeout, "heartbeat.timeout")
	}
	if r := f.Restart; r != nil {
		if r.Strategy != nil {
			k, err := restart.ParseKind(*r.Strategy)
			if err != nil {
				errs = append(errs, fmt.Errorf("restart.strategy: %w", err))
			}
			c.Restart.Kind = k
		}
		num(&c.Restart.Attempts, r.Attempts)
		dur(&c.Restart.Delay, r.Delay, "restart.delay")
		num(&c.Restart.MaxFailures, r.MaxFailures)
		dur(&c.Restart.Interval, r.Interval, "restart.interval")
		dur(&c.Restart.InitialDelay, r.InitialDelay, "restart.initial_delay")
		dur(&c.Restart.MaxDelay, r.MaxDelay, "restart.max_delay")
		float(&c.Restart.Multiplier, r.Multiplier)
		float(&c.Restart.Jitter, r.Jitter)
		dur(&c.Restart.ResetThreshold, r.ResetThreshold, "restart.reset_threshold")
	}
	if b := f.StateBackend; b != nil {
		if b.Name != "" {
			c.StateBackend = b.Name
		}
		if b.Settings != nil {
			c.StateBackendSettings = maps.Clone(b.Settings)
		}
		if b.Share != nil {
			c.ShareStateBackend = *b.Share
		}
	}
	if cs := f.Consul; cs != nil {
		str(&c.Consul, cs.Address)
		str(&c.ConsulToken, cs.Token)
		str(&c.Cluster, cs.Cluster)
	}
	// The flags used to set these defaults; nomad.ProviderConfig treats
	// zero values the same way.
	n := &c.Nomad
	n.Driver, n.CPUPerSlot, n.MemoryOverheadMB = nomad.DriverRawExec, nomad.DefaultCPUPerSlot, nomad.DefaultMemoryOverhead
	if nf := f.Nomad; nf != nil {
		str(&n.Address, nf.Address)
		str(&n.Token, nf.Token)
		str(&n.Region, nf.Region)
		str(&n.Namespace, nf.Namespace)
		if nf.Datacenters != nil {
			n.Datacenters = append([]string(nil), nf.Datacenters...)
		}
		str(&n.NodePool, nf.NodePool)
		str(&n.Driver, nf.Driver)
		str(&n.DockerImage, nf.DockerImage)
		for _, con := range nf.Constraints {
			nc, err := con.nomad()
			if err != nil {
				errs = append(errs, fmt.Errorf("nomad.constraint: %w", err))
			}
			n.Constraints = append(n.Constraints, nc)
		}
		num(&n.CPUPerSlot, nf.CPUPerSlot)
		num(&n.MemoryOverheadMB, nf.MemoryOverhead)
		str(&n.ArtifactBaseURL, nf.ArtifactURL)
	}
	if a := f.Auth; a != nil {
		str(&c.Token, a.Token)
		str(&c.ACLFile, a.ACLFile)
		if a.AnonymousRead != nil {
			c.AnonymousRead = *a.AnonymousRead
		}
	}
	if t := f.TLS; t != nil {
		str(&c.TLS.CertFile, t.CertFile)
		str(&c.TLS.KeyFile, t.KeyFile)
		str(&c.TLS.CAFile, t.CAFile)
	}
	level, format := DefaultLogLevel, DefaultLogFormat
	str(&level, f.LogLevel)
	str(&format, f.LogFormat)
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		errs = append(errs, fmt.Errorf("log_level: %w", checkLogLevel(level)))
	}
	if err := logging.CheckFormat(format); err != nil {
		errs = append(errs, fmt.Errorf("log_format: %w", err))
		format = DefaultLogFormat
	}
	if format != logging.FormatText {
		c.LogFormat = format
	}
	c.Logger, _ = logging.New(os.Stderr, lv, format)
	return c, errors.Join(errs...)
}

// nomad turns a constraint block into the provider's constraint. A bare
// attribute (attr.kernel.name) gets the ${...} of a jobspec, as with
// --nomad-constraint; the operator defaults to "=".
func (c Constraint) nomad() (nomad.Constraint, error) {
	op := c.Operator
	if op == "" {
		op = "="
	}
	if c.Attribute == "" {
		if op == "distinct_hosts" && c.Value == "" {
			return nomad.Constraint{Operator: op, Value: "true"}, nil
		}
		return nomad.Constraint{Operator: op, Value: c.Value}, nil
	}
	return nomad.ParseConstraint(strings.TrimSpace(c.Attribute + " " + op + " " + c.Value))
}
