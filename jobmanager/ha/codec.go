package ha

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/plugins"
)

// Formats of the values under the prefix. A reader refuses any other
// format, including other versions of its own.
const (
	LeaderFormat  = "sluice-leader/1"
	JobFormat     = "sluice-job/1"
	PointerFormat = "sluice-pointer/1"
)

// maxValue bounds a value this package reads from Consul (Consul's own
// default limit is 512 KiB per value).
const maxValue = 512 << 10

// keys are the Consul KV keys of one cluster.
type keys struct {
	root        string // <Prefix>/<Cluster>/
	leader      string // <root>leader
	jobs        string // <root>jobs/
	checkpoints string // <root>checkpoints/
}

func newKeys(prefix, cluster string) keys {
	root := prefix + "/" + cluster + "/"
	return keys{root: root, leader: root + "leader", jobs: root + "jobs/", checkpoints: root + "checkpoints/"}
}

func (k keys) job(id string) string     { return k.jobs + id }
func (k keys) pointer(id string) string { return k.checkpoints + id }

// validSegment checks one segment of a key or object name: letters,
// digits and . _ - =, not "." or "..". Job ids, the cluster name and the
// prefix's segments follow it, so keys and object names built from them
// are safe.
func validSegment(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if len(s) > 128 {
		return fmt.Errorf("%s %.20q... is longer than 128 characters", what, s)
	}
	if s == "." || s == ".." {
		return fmt.Errorf("%s %q is not allowed", what, s)
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-=", c)
		if !ok {
			return fmt.Errorf("%s %q: character %q; use letters, digits and . _ - =", what, s, c)
		}
	}
	return nil
}

// validPrefix checks a KV prefix: one or more segments separated by "/".
func validPrefix(p string) error {
	if p == "" {
		return fmt.Errorf("prefix is empty")
	}
	for seg := range strings.SplitSeq(p, "/") {
		if err := validSegment("prefix segment", seg); err != nil {
			return fmt.Errorf("prefix %q: %w", p, err)
		}
	}
	return nil
}

// validAddr checks a host:port others can dial.
func validAddr(what, a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("%s address %q: %v", what, a, err)
	}
	if host == "" {
		return fmt.Errorf("%s address %q has no host", what, a)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("%s address %q: %s is the unspecified address; publish an address others can dial", what, a, host)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("%s address %q: port %q is not a number from 1 to 65535", what, a, port)
	}
	return nil
}

// validateLeader checks the fields of a Leader (not its epoch).
func validateLeader(l Leader) error {
	if err := validSegment("id", l.ID); err != nil {
		return err
	}
	if err := validAddr("REST", l.REST); err != nil {
		return err
	}
	if l.Scheme != "" && l.Scheme != "http" && l.Scheme != "https" {
		return fmt.Errorf("REST scheme %q: want http or https", l.Scheme)
	}
	return validAddr("RPC", l.RPC)
}

type leaderWire struct {
	Format string `json:"format"`
	ID     string `json:"id"`
	REST   string `json:"rest"`
	RPC    string `json:"rpc"`
	Scheme string `json:"scheme,omitempty"` // added within format 1: older readers ignore it
}

func encodeLeader(l Leader) ([]byte, error) {
	if err := validateLeader(l); err != nil {
		return nil, err
	}
	return json.Marshal(leaderWire{Format: LeaderFormat, ID: l.ID, REST: l.REST, RPC: l.RPC, Scheme: l.Scheme})
}

// decodeFormat reads a value's "format" field and checks it is want. A
// value that is not a JSON object, or that has another format, is refused
// with a reason.
func decodeFormat(b []byte, want string) error {
	if len(b) == 0 {
		return fmt.Errorf("empty value")
	}
	if len(b) > maxValue {
		return fmt.Errorf("value of %d bytes is larger than %d", len(b), maxValue)
	}
	var f struct {
		Format *string `json:"format"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("not JSON with a format field: %v", err)
	}
	if f.Format == nil {
		return fmt.Errorf("no format field (want %q)", want)
	}
	if *f.Format != want {
		name, _, _ := strings.Cut(want, "/")
		if strings.HasPrefix(*f.Format, name+"/") {
			return fmt.Errorf("format %q is another version than this JobManager's %q", *f.Format, want)
		}
		return fmt.Errorf("format %q, want %q", *f.Format, want)
	}
	return nil
}

// strictUnmarshal decodes one JSON object into v, refusing trailing data.
func strictUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data after the JSON object")
	}
	return nil
}

// decodeLeader parses the lock key's value. The error explains why a value
// is refused; callers wrap it with ErrForeign and the key.
func decodeLeader(b []byte) (Leader, error) {
	if err := decodeFormat(b, LeaderFormat); err != nil {
		return Leader{}, err
	}
	var w leaderWire
	if err := strictUnmarshal(b, &w); err != nil {
		return Leader{}, err
	}
	l := Leader{ID: w.ID, REST: w.REST, RPC: w.RPC, Scheme: w.Scheme}
	if err := validateLeader(l); err != nil {
		return Leader{}, err
	}
	return l, nil
}

// validDigest checks a lowercase hex sha256.
func validDigest(d string) error {
	if len(d) != 64 {
		return fmt.Errorf("artifact digest %q: want 64 hex digits", d)
	}
	for _, c := range d {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("artifact digest %q: want 64 lowercase hex digits", d)
		}
	}
	return nil
}

// validateJob checks a job record before it is written or after it is read.
func validateJob(j JobRecord) error {
	if err := validSegment("job id", j.ID); err != nil {
		return err
	}
	if len(j.Graph) == 0 {
		return fmt.Errorf("job %s: no graph", j.ID)
	}
	if !json.Valid(j.Graph) {
		return fmt.Errorf("job %s: graph is not valid JSON", j.ID)
	}
	if j.Artifact != "" {
		if err := validDigest(j.Artifact); err != nil {
			return fmt.Errorf("job %s: %w", j.ID, err)
		}
	}
	if j.Parallelism < 0 {
		return fmt.Errorf("job %s: parallelism %d is negative", j.ID, j.Parallelism)
	}
	return nil
}

type jobWire struct {
	Format string `json:"format"`
	JobRecord
}

func encodeJob(j JobRecord) ([]byte, error) {
	if err := validateJob(j); err != nil {
		return nil, err
	}
	b, err := json.Marshal(jobWire{Format: JobFormat, JobRecord: j})
	if err != nil {
		return nil, fmt.Errorf("job %s: %v", j.ID, err)
	}
	if len(b) > maxValue {
		return nil, fmt.Errorf("job %s: record of %d bytes is larger than %d", j.ID, len(b), maxValue)
	}
	return b, nil
}

// decodeJob parses the value of jobs/<id>.
func decodeJob(id string, b []byte) (JobRecord, error) {
	if err := decodeFormat(b, JobFormat); err != nil {
		return JobRecord{}, err
	}
	var w jobWire
	if err := strictUnmarshal(b, &w); err != nil {
		return JobRecord{}, err
	}
	if w.ID != id {
		return JobRecord{}, fmt.Errorf("record of job %q under the key of job %q", w.ID, id)
	}
	if err := validateJob(w.JobRecord); err != nil {
		return JobRecord{}, err
	}
	return w.JobRecord, nil
}

// validatePointer checks a pointer's checkpoint and metadata object.
func validatePointer(p Pointer) error {
	if p.Checkpoint < 1 {
		return fmt.Errorf("checkpoint %d: ids start at 1", p.Checkpoint)
	}
	if err := plugins.ValidName(p.Metadata); err != nil {
		return fmt.Errorf("metadata object: %w", err)
	}
	return nil
}

type pointerWire struct {
	Format string `json:"format"`
	Pointer
}

func encodePointer(p Pointer) ([]byte, error) {
	if err := validatePointer(p); err != nil {
		return nil, err
	}
	return json.Marshal(pointerWire{Format: PointerFormat, Pointer: p})
}

// decodePointer parses the value of checkpoints/<id>.
func decodePointer(b []byte) (Pointer, error) {
	if err := decodeFormat(b, PointerFormat); err != nil {
		return Pointer{}, err
	}
	var w pointerWire
	if err := strictUnmarshal(b, &w); err != nil {
		return Pointer{}, err
	}
	if err := validatePointer(w.Pointer); err != nil {
		return Pointer{}, err
	}
	if w.Epoch == 0 {
		return Pointer{}, fmt.Errorf("pointer has no epoch")
	}
	return w.Pointer, nil
}

// cloneJob copies the slices of a record so that the caller's and the
// store's copies are independent.
func cloneJob(j JobRecord) JobRecord {
	j.Graph = slices.Clone(j.Graph)
	j.Args = slices.Clone(j.Args)
	return j
}

// sortJobs orders records by submission time, then id.
func sortJobs(js []JobRecord) {
	slices.SortFunc(js, func(a, b JobRecord) int {
		if c := a.Submitted.Compare(b.Submitted); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
