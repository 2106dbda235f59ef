package metricstest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families are the metric families of one scrape, by name.
type Families map[string]*dto.MetricFamily

// ScrapeOption configures a scrape.
type ScrapeOption func(*http.Request)

// WithToken sends token as the scrape's bearer token, for a JobManager
// that checks tokens.
func WithToken(token string) ScrapeOption {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// Scrape fetches url (a /metrics endpoint) in the text format and parses
// it.
func Scrape(ctx context.Context, url string, opts ...ScrapeOption) (Families, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	for _, o := range opts {
		o(req)
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("scraping %s: %s: %s", url, resp.Status, body)
	}
	return Parse(resp.Body)
}

// Parse reads the text exposition format.
func Parse(r io.Reader) (Families, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parsing metrics: %w", err)
	}
	return Families(fams), nil
}

// Find returns the series of family name whose labels include every one
// of labels (nil: all of them).
func (f Families) Find(name string, labels map[string]string) []*dto.Metric {
	fam, ok := f[name]
	if !ok {
		return nil
	}
	var out []*dto.Metric
	for _, m := range fam.GetMetric() {
		if Matches(m, labels) {
			out = append(out, m)
		}
	}
	return out
}

// Sum adds up the values of the series Find returns; ok is false when
// there are none.
func (f Families) Sum(name string, labels map[string]string) (sum float64, ok bool) {
	ms := f.Find(name, labels)
	for _, m := range ms {
		sum += Value(m)
	}
	return sum, len(ms) > 0
}

// Matches reports whether m has every label of labels.
func Matches(m *dto.Metric, labels map[string]string) bool {
	for k, v := range labels {
		if Label(m, k) != v {
			return false
		}
	}
	return true
}

// Label returns the value of m's label name, "" if it has none.
func Label(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// Value is the value of a counter, gauge or untyped series, or the sample
// count of a histogram or summary.
func Value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	case m.Summary != nil:
		return float64(m.GetSummary().GetSampleCount())
	}
	return m.GetUntyped().GetValue()
}
