package metrics

import (
	"math"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/taskmanager"
)

// Source is what the Collector reads; *taskmanager.TaskManager implements
// it.
type Source interface {
	Info() jobmanager.TaskManagerInfo
	Subtasks() []taskmanager.SubtaskMetrics
	NetworkBuffers() (used, total int)
	SlotsUsed() int
	DataPlaneStats() (sent, received int64, sessions int, ok bool)
}

// Collector is a prometheus.Collector of one TaskManager. Every metric
// carries the label taskmanager, its id.
type Collector struct {
	src Source
	now func() time.Time

	records, recordsOut, bytesIn, bytesOut, backpressure, watermarkLag, state *prometheus.Desc
	slots, slotsUsed, buffers, buffersUsed, memory                            *prometheus.Desc
	sent, received, sessions                                                  *prometheus.Desc
}

var subtaskLabels = []string{"job_id", "job_name", "task", "task_name", "subtask"}

// NewCollector returns a collector of src.
func NewCollector(src Source) *Collector {
	tm := prometheus.Labels{"taskmanager": src.Info().ID}
	perSubtask := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, subtaskLabels, tm)
	}
	perTM := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, tm) }
	return &Collector{
		src: src, now: time.Now,
		records:      perSubtask("sluice_task_records_in_total", "Records a subtask received from other tasks, or read from its source."),
		recordsOut:   perSubtask("sluice_task_records_out_total", "Records a subtask sent to other tasks."),
		bytesIn:      perSubtask("sluice_task_bytes_in_total", "Bytes of serialized records a subtask received from other TaskManagers (in-process exchanges count none)."),
		bytesOut:     perSubtask("sluice_task_bytes_out_total", "Bytes of serialized records a subtask sent to other TaskManagers (in-process exchanges count none)."),
		backpressure: perSubtask("sluice_task_backpressure_seconds_total", "Time a subtask waited to send output: for credit on in-process channels, and in data-plane writes, which block while the consumer's window is full."),
		watermarkLag: perSubtask("sluice_task_watermark_lag_seconds", "Wall-clock time minus a subtask's current watermark; only subtasks that take part in event time and have a watermark."),
		state: prometheus.NewDesc("sluice_task_state_bytes", "Estimated keyed state of an operator of a subtask.",
			append(append([]string(nil), subtaskLabels...), "operator", "operator_name"), tm),
		slots:       perTM("sluice_taskmanager_slots", "Task slots of the TaskManager."),
		slotsUsed:   perTM("sluice_taskmanager_slots_used", "Task slots running at least one subtask."),
		buffers:     perTM("sluice_taskmanager_network_buffers", "Input buffers (credits) of the running subtasks."),
		buffersUsed: perTM("sluice_taskmanager_network_buffers_used", "Input buffers in use: being filled by a producer, queued, or being processed."),
		memory:      perTM("sluice_taskmanager_managed_memory_bytes", "Managed memory of the TaskManager, split evenly among its slots."),
		sent:        perTM("sluice_taskmanager_data_plane_sent_bytes_total", "Bytes the data plane wrote to other TaskManagers, with the framing."),
		received:    perTM("sluice_taskmanager_data_plane_received_bytes_total", "Bytes the data plane read from other TaskManagers, with the framing."),
		sessions:    perTM("sluice_taskmanager_data_plane_sessions", "Open data-plane sessions (one connection each) to other TaskManagers."),
	}
}

// Describe sends the descriptions of every metric.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.records, c.recordsOut, c.bytesIn, c.bytesOut, c.backpressure, c.watermarkLag, c.state,
		c.slots, c.slotsUsed, c.buffers, c.buffersUsed, c.memory, c.sent, c.received, c.sessions} {
		ch <- d
	}
}

// subtaskKey is a subtask's labels without the attempt.
type subtaskKey struct {
	job, task string
	subtask   int
}

// Collect reads the TaskManager and sends the metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	info := c.src.Info()
	used, total := c.src.NetworkBuffers()
	ch <- prometheus.MustNewConstMetric(c.slots, prometheus.GaugeValue, float64(info.Slots))
	ch <- prometheus.MustNewConstMetric(c.slotsUsed, prometheus.GaugeValue, float64(c.src.SlotsUsed()))
	ch <- prometheus.MustNewConstMetric(c.buffers, prometheus.GaugeValue, float64(total))
	ch <- prometheus.MustNewConstMetric(c.buffersUsed, prometheus.GaugeValue, float64(used))
	ch <- prometheus.MustNewConstMetric(c.memory, prometheus.GaugeValue, float64(info.ManagedMemory))
	if sent, received, sessions, ok := c.src.DataPlaneStats(); ok {
		ch <- prometheus.MustNewConstMetric(c.sent, prometheus.CounterValue, float64(sent))
		ch <- prometheus.MustNewConstMetric(c.received, prometheus.CounterValue, float64(received))
		ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.GaugeValue, float64(sessions))
	}

	// The attempt is no label: should two attempts of a subtask overlap
	// for a moment, the newer one is reported.
	subtasks := c.src.Subtasks()
	newest := make(map[subtaskKey]int, len(subtasks))
	for i, s := range subtasks {
		k := subtaskKey{s.JobID, s.Task, s.Subtask}
		if j, ok := newest[k]; !ok || s.Attempt > subtasks[j].Attempt {
			newest[k] = i
		}
	}
	nowMs := c.now().UnixMilli()
	for _, i := range newest {
		s := subtasks[i]
		lv := []string{s.JobID, s.JobName, s.Task, s.TaskName, strconv.Itoa(s.Subtask)}
		st := s.Stats
		ch <- prometheus.MustNewConstMetric(c.records, prometheus.CounterValue, float64(st.RecordsIn.Load()), lv...)
		ch <- prometheus.MustNewConstMetric(c.recordsOut, prometheus.CounterValue, float64(st.RecordsOut.Load()), lv...)
		ch <- prometheus.MustNewConstMetric(c.bytesIn, prometheus.CounterValue, float64(st.BytesIn.Load()), lv...)
		ch <- prometheus.MustNewConstMetric(c.bytesOut, prometheus.CounterValue, float64(st.BytesOut.Load()), lv...)
		ch <- prometheus.MustNewConstMetric(c.backpressure, prometheus.CounterValue, time.Duration(st.BackpressureNanos.Load()).Seconds(), lv...)
		// math.MaxInt64 is the end of event time (a bounded input
		// ended), from which no lag follows.
		if wm, ok := st.Watermark(); ok && wm != math.MaxInt64 && wm != math.MinInt64 {
			ch <- prometheus.MustNewConstMetric(c.watermarkLag, prometheus.GaugeValue, float64(nowMs-wm)/1e3, lv...)
		}
		for _, op := range s.States {
			ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, float64(op.Bytes), append(lv, op.UID, op.Name)...)
		}
	}
}
