package metrics

import (
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/checkpoint"
)

// Source is what the Collector reads; *jobmanager.JobManager implements it.
type Source interface {
	List() []jobmanager.JobStatus
	TaskManagers() []jobmanager.TaskManagerStatus
}

// DurationBuckets are the upper bounds of the checkpoint duration
// histogram, in seconds.
var DurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// States lists every job state, so that sluice_jobmanager_jobs has a
// series (possibly 0) for each.
var States = []jobmanager.JobState{
	jobmanager.StateCreated, jobmanager.StateRunning, jobmanager.StateRestarting, jobmanager.StateFailing,
	jobmanager.StateFailed, jobmanager.StateCancelling, jobmanager.StateCancelled, jobmanager.StateFinished,
}

var jobLabels = []string{"job_id", "job_name"}

var (
	descJobs = prometheus.NewDesc("sluice_jobmanager_jobs",
		"Jobs the JobManager knows, by state.", []string{"state"}, nil)
	descTaskManagers = prometheus.NewDesc("sluice_jobmanager_taskmanagers",
		"TaskManagers registered with the JobManager.", nil, nil)
	descSlots = prometheus.NewDesc("sluice_jobmanager_slots",
		"Task slots of the registered TaskManagers.", nil, nil)
	descSlotsUsed = prometheus.NewDesc("sluice_jobmanager_slots_used",
		"Task slots that hold a job's subtasks.", nil, nil)
	descSlotsFree = prometheus.NewDesc("sluice_jobmanager_slots_free",
		"Task slots that hold no job's subtasks.", nil, nil)
	descRestarts = prometheus.NewDesc("sluice_job_restarts_total",
		"Restarts of a job that has not ended, since it was submitted to this JobManager.", jobLabels, nil)
	descCompleted = prometheus.NewDesc("sluice_job_checkpoints_completed_total",
		"Checkpoints of a job that completed (savepoints excluded).", jobLabels, nil)
	descFailed = prometheus.NewDesc("sluice_job_checkpoints_failed_total",
		"Checkpoints of a job that were aborted: declined, timed out, interrupted by a restart, or not recorded (savepoints excluded).", jobLabels, nil)
	descDuration = prometheus.NewDesc("sluice_job_checkpoint_duration_seconds",
		"Time from trigger to completion of a job's completed checkpoints.", jobLabels, nil)
	descSize = prometheus.NewDesc("sluice_job_checkpoint_size_bytes",
		"Snapshot size of a job's last completed checkpoint, all subtasks.", jobLabels, nil)
	descAlignment = prometheus.NewDesc("sluice_job_checkpoint_alignment_seconds",
		"Longest barrier alignment of a subtask in a job's last completed checkpoint.", jobLabels, nil)
	descLastCompleted = prometheus.NewDesc("sluice_job_checkpoint_last_completed_timestamp_seconds",
		"When a job's last checkpoint completed, in seconds since the epoch.", jobLabels, nil)
)

// Collector is a prometheus.Collector of a JobManager.
type Collector struct {
	mu   sync.Mutex
	src  Source
	jobs map[string]*jobCheckpoints
}

// jobCheckpoints are the checkpoint outcomes of one job.
type jobCheckpoints struct {
	name              string
	completed, failed uint64
	buckets           []uint64 // per DurationBuckets bound, not cumulative
	count             uint64
	sum               float64 // seconds
	// Of the last completed checkpoint (hasLast).
	hasLast   bool
	lastSize  int64
	lastEnded time.Time
	alignment time.Duration // the longest of its subtasks'
}

// NewCollector returns a collector that reads src; src may be set later
// with SetSource (the JobManager takes the collector's CheckpointEnded in
// its configuration, so it exists first).
func NewCollector(src Source) *Collector {
	return &Collector{src: src, jobs: map[string]*jobCheckpoints{}}
}

// SetSource sets what the collector reads.
func (c *Collector) SetSource(src Source) {
	c.mu.Lock()
	c.src = src
	c.mu.Unlock()
}

// CheckpointEnded records a checkpoint that completed or was aborted; it
// is jobmanager.Config.CheckpointEnded. Savepoints are not counted.
func (c *Collector) CheckpointEnded(jobID, jobName string, cp *checkpoint.Checkpoint) {
	if cp.Savepoint {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	j, ok := c.jobs[jobID]
	if !ok {
		j = &jobCheckpoints{name: jobName, buckets: make([]uint64, len(DurationBuckets))}
		c.jobs[jobID] = j
	}
	if cp.Status != checkpoint.Completed {
		j.failed++
		return
	}
	j.completed++
	d := cp.Duration().Seconds()
	j.count++
	j.sum += d
	if i := sort.SearchFloat64s(DurationBuckets, d); i < len(DurationBuckets) {
		j.buckets[i]++
	}
	j.hasLast, j.lastSize, j.lastEnded, j.alignment = true, cp.Size(), cp.Ended, 0
	for _, a := range cp.AckList {
		j.alignment = max(j.alignment, a.Alignment)
	}
}

// Describe sends the descriptions of every metric.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJobs, descTaskManagers, descSlots, descSlotsUsed, descSlotsFree,
		descRestarts, descCompleted, descFailed, descDuration, descSize, descAlignment, descLastCompleted} {
		ch <- d
	}
}

// Collect reads the JobManager and sends the metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	src := c.src
	c.mu.Unlock()
	if src == nil {
		return
	}
	jobs := src.List()
	byState := make(map[jobmanager.JobState]int, len(States))
	live := make(map[string]jobmanager.JobStatus, len(jobs))
	for _, j := range jobs {
		byState[j.State]++
		if !j.State.Terminal() {
			live[j.ID] = j
		}
	}
	for _, s := range States {
		ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(byState[s]), string(s))
	}
	tms := src.TaskManagers()
	slots, used := 0, 0
	for _, tm := range tms {
		slots += tm.Info.Slots
		used += len(tm.SlotJobs)
	}
	ch <- prometheus.MustNewConstMetric(descTaskManagers, prometheus.GaugeValue, float64(len(tms)))
	ch <- prometheus.MustNewConstMetric(descSlots, prometheus.GaugeValue, float64(slots))
	ch <- prometheus.MustNewConstMetric(descSlotsUsed, prometheus.GaugeValue, float64(used))
	ch <- prometheus.MustNewConstMetric(descSlotsFree, prometheus.GaugeValue, float64(max(slots-used, 0)))
	for _, j := range live {
		ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(j.Restarts), j.ID, j.Name)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	for id, cps := range c.jobs {
		j, ok := live[id]
		if !ok {
			// The job ended (or another JobManager leads it): its
			// series go.
			delete(c.jobs, id)
			continue
		}
		lv := []string{id, j.Name}
		ch <- prometheus.MustNewConstMetric(descCompleted, prometheus.CounterValue, float64(cps.completed), lv...)
		ch <- prometheus.MustNewConstMetric(descFailed, prometheus.CounterValue, float64(cps.failed), lv...)
		cum := make(map[float64]uint64, len(DurationBuckets))
		var n uint64
		for i, b := range DurationBuckets {
			n += cps.buckets[i]
			cum[b] = n
		}
		ch <- prometheus.MustNewConstHistogram(descDuration, cps.count, cps.sum, cum, lv...)
		if cps.hasLast {
			ch <- prometheus.MustNewConstMetric(descSize, prometheus.GaugeValue, float64(cps.lastSize), lv...)
			ch <- prometheus.MustNewConstMetric(descAlignment, prometheus.GaugeValue, cps.alignment.Seconds(), lv...)
			ch <- prometheus.MustNewConstMetric(descLastCompleted, prometheus.GaugeValue, float64(cps.lastEnded.UnixNano())/1e9, lv...)
		}
	}
}
