// Package metricstest helps tests read Prometheus endpoints: it scrapes
// one over HTTP (no connection kept, so no goroutine is left behind),
// parses the text format with prometheus/common's expfmt, and finds series
// by name and labels.
package metricstest
