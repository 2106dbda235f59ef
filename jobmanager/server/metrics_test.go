package server_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/sluicehq/sluice/internal/metricsreg"
	"github.com/sluicehq/sluice/internal/metricstest"
	"github.com/sluicehq/sluice/jobmanager/api"
)

// scrapeOK scrapes url, failing the test on an error.
func scrapeOK(t testing.TB, url string) metricstest.Families {
	t.Helper()
	fams, err := metricstest.Scrape(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// requireFamilies fails the test for every name fams lacks.
func requireFamilies(t testing.TB, fams metricstest.Families, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, ok := fams[n]; !ok {
			t.Errorf("no metric %s", n)
		}
	}
}

// TestMetricsOfJobManagerAndTaskManagers runs an unbounded, checkpointed
// job on two TaskManagers the local provider starts, and scrapes the
// JobManager's /metrics and each TaskManager's, whose address REST lists.
func TestMetricsOfJobManagerAndTaskManagers(t *testing.T) {
	c := startJobManager(t, "--slots", "1")
	id := c.submit(t, bins.testjob, "--records", "-1", "--rate", "5000", "--parallelism", "2", "--checkpoint-interval", "200ms")
	c.waitJob(t, id, 30*time.Second, "running")

	var tms []api.TaskManager
	waitFor(t, 20*time.Second, "two TaskManagers with a metrics address", func() bool {
		var err error
		tms, err = c.client.TaskManagers(context.Background())
		return err == nil && len(tms) == 2 && tms[0].MetricsAddress != "" && tms[1].MetricsAddress != ""
	})
	job := map[string]string{"job_id": id}
	if out, code := c.jmctl(t, "taskmanagers", "--json"); code != 0 || !strings.Contains(out, `"metricsAddress": "`+tms[0].MetricsAddress+`"`) {
		t.Errorf("jmctl taskmanagers --json (exit %d) does not show %s:\n%s", code, tms[0].MetricsAddress, out)
	}

	// The JobManager: jobs, slots, TaskManagers, restarts, checkpoints.
	jmURL := "http://" + c.rest + "/metrics"
	waitFor(t, 30*time.Second, "a completed checkpoint in the JobManager's metrics", func() bool {
		n, ok := scrapeOK(t, jmURL).Sum("sluice_job_checkpoints_completed_total", job)
		return ok && n > 0
	})
	fams := scrapeOK(t, jmURL)
	requireFamilies(t, fams, "sluice_jobmanager_jobs", "sluice_jobmanager_taskmanagers", "sluice_jobmanager_slots",
		"sluice_jobmanager_slots_used", "sluice_jobmanager_slots_free", "sluice_jobmanager_leader", "sluice_job_restarts_total",
		"sluice_job_checkpoints_completed_total", "sluice_job_checkpoints_failed_total", "sluice_job_checkpoint_duration_seconds",
		"sluice_job_checkpoint_size_bytes", "sluice_job_checkpoint_alignment_seconds", "go_goroutines", "process_resident_memory_bytes")
	for name, want := range map[string]float64{"sluice_jobmanager_taskmanagers": 2, "sluice_jobmanager_slots": 2, "sluice_jobmanager_slots_used": 2, "sluice_jobmanager_leader": 1} {
		if got, _ := fams.Sum(name, nil); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got, _ := fams.Sum("sluice_jobmanager_jobs", map[string]string{"state": "running"}); got != 1 {
		t.Errorf("%v running jobs, want 1", got)
	}
	if ms := fams.Find("sluice_job_restarts_total", map[string]string{"job_id": id, "job_name": "testjob"}); len(ms) != 1 || metricstest.Value(ms[0]) != 0 {
		t.Errorf("restarts of the job: %v", ms)
	}

	// The TaskManagers: their subtasks' counters grow between scrapes;
	// the keyed sum crosses the data plane, so bytes flow too.
	recordsIn := func() (sum float64) {
		for _, tm := range tms {
			n, _ := scrapeOK(t, "http://"+tm.MetricsAddress+"/metrics").Sum("sluice_task_records_in_total", job)
			sum += n
		}
		return sum
	}
	first := recordsIn()
	waitFor(t, 20*time.Second, "the records counters to grow", func() bool { return recordsIn() > first })
	var bytesOut, bytesIn float64
	for _, tm := range tms {
		fams := scrapeOK(t, "http://"+tm.MetricsAddress+"/metrics")
		requireFamilies(t, fams, "sluice_task_records_in_total", "sluice_task_records_out_total", "sluice_task_bytes_in_total",
			"sluice_task_bytes_out_total", "sluice_task_backpressure_seconds_total", "sluice_task_state_bytes",
			"sluice_taskmanager_slots", "sluice_taskmanager_slots_used", "sluice_taskmanager_network_buffers",
			"sluice_taskmanager_network_buffers_used", "go_goroutines", "process_cpu_seconds_total")
		for _, m := range fams.Find("sluice_task_records_in_total", nil) {
			if metricstest.Label(m, "taskmanager") != tm.ID || metricstest.Label(m, "job_id") != id || metricstest.Label(m, "task") == "" {
				t.Errorf("a subtask series of %s has labels %v", tm.ID, m.GetLabel())
			}
		}
		if n, _ := fams.Sum("sluice_task_state_bytes", map[string]string{"job_id": id, "operator": "sum"}); n <= 0 {
			t.Errorf("%s: no keyed state of the sum", tm.ID)
		}
		out, _ := fams.Sum("sluice_task_bytes_out_total", job)
		in, _ := fams.Sum("sluice_task_bytes_in_total", job)
		bytesOut, bytesIn = bytesOut+out, bytesIn+in
	}
	if bytesOut <= 0 || bytesIn <= 0 {
		t.Errorf("bytes out %v, in %v: no data-plane traffic counted", bytesOut, bytesIn)
	}
	t.Logf("TaskManagers at %s and %s: records in %v then more; data-plane bytes out %v, in %v",
		tms[0].MetricsAddress, tms[1].MetricsAddress, first, bytesOut, bytesIn)

	if out, code := c.jmctl(t, "cancel", id); code != 0 {
		t.Fatalf("jmctl cancel exited %d: %s", code, out)
	}
	c.waitJob(t, id, 20*time.Second, "cancelled")
	fams = scrapeOK(t, jmURL)
	if got, _ := fams.Sum("sluice_jobmanager_jobs", map[string]string{"state": "cancelled"}); got != 1 {
		t.Errorf("%v cancelled jobs, want 1", got)
	}
	if ms := fams.Find("sluice_job_checkpoints_completed_total", job); len(ms) != 0 {
		t.Errorf("the cancelled job's checkpoint series remain")
	}
}

// TestMetricsEndpointsRegisteredInConsul: every JobManager (leader and
// standby) and a TaskManager given SLUICE_CONSUL and SLUICE_METRICS_ADDR
// register their metrics endpoints in Consul with a passing HTTP check,
// the standby answers /metrics itself, and each registration goes when
// its process shuts down.
func TestMetricsEndpointsRegisteredInConsul(t *testing.T) {
	h := startHACluster(t, 2)
	leader := h.leader(t, "")
	standby := "jm-1"
	if leader == standby {
		standby = "jm-2"
	}
	// The standby answers /metrics, not with a redirect to the leader.
	noRedirect := &http.Client{Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get("http://" + h.jms[standby].rest + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics on the standby: %s", resp.Status)
	}
	for id, want := range map[string]float64{leader: 1, standby: 0} {
		if got, _ := scrapeOK(t, "http://"+h.jms[id].rest+"/metrics").Sum("sluice_jobmanager_leader", nil); got != want {
			t.Errorf("sluice_jobmanager_leader of %s = %v, want %v", id, got, want)
		}
	}

	tm := start(t, "tm-1", []string{"SLUICE_MODE=taskmanager", "SLUICE_CONSUL=" + h.consul, "SLUICE_TASKMANAGER_ID=tm-1",
		"SLUICE_SLOTS=1", "SLUICE_METRICS_ADDR=127.0.0.1:0"}, bins.testjob, "--records", "1000")
	h.jms[leader].waitTaskManagers(t, 1)

	// No idle connections: the test leaves no goroutine behind.
	tr := &http.Transport{DisableKeepAlives: true}
	cc, err := consul.NewClient(&consul.Config{Address: h.consul, Transport: tr, HttpClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	passing := func(service string) map[string]*consul.AgentService {
		entries, _, err := cc.Health().Service(service, "cluster-default", true, nil)
		out := map[string]*consul.AgentService{}
		if err != nil {
			return out
		}
		for _, e := range entries {
			if slices.Contains(e.Service.Tags, "prometheus") && slices.Contains(e.Service.Tags, "sluice") {
				out[e.Service.ID] = e.Service
			}
		}
		return out
	}
	jmSvc := func(id string) string { return metricsreg.ServiceJobManager + "-" + id }
	tmSvc := metricsreg.ServiceTaskManager + "-tm-1"
	waitFor(t, 30*time.Second, "both JobManagers' and the TaskManager's metrics services to pass", func() bool {
		jms, tms := passing(metricsreg.ServiceJobManager), passing(metricsreg.ServiceTaskManager)
		return jms[jmSvc(leader)] != nil && jms[jmSvc(standby)] != nil && tms[tmSvc] != nil
	})
	// Each registered address serves the metrics of its process.
	svc := passing(metricsreg.ServiceTaskManager)[tmSvc]
	fams := scrapeOK(t, "http://"+svc.Address+":"+strconv.Itoa(svc.Port)+"/metrics")
	if n, _ := fams.Sum("sluice_taskmanager_slots", map[string]string{"taskmanager": "tm-1"}); n != 1 {
		t.Errorf("the registered TaskManager endpoint reports %v slots of tm-1", n)
	}
	if svc.Meta["taskmanager"] != "tm-1" || svc.Meta["job_name"] != "testjob" {
		t.Errorf("TaskManager service meta %v", svc.Meta)
	}
	t.Logf("Consul lists %s at %s:%d, meta %v", tmSvc, svc.Address, svc.Port, svc.Meta)
	list, err := h.jms[leader].client.TaskManagers(context.Background())
	if err != nil || len(list) != 1 || list[0].MetricsAddress != svc.Address+":"+strconv.Itoa(svc.Port) {
		t.Errorf("REST lists %+v (%v); the TaskManager serves its metrics at %s:%d", list, err, svc.Address, svc.Port)
	}

	// A graceful stop deregisters.
	stop := func(p *proc) {
		t.Helper()
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Fatal("the process did not stop after SIGTERM")
		}
	}
	stop(tm)
	stop(h.jms[standby].jm)
	waitFor(t, 10*time.Second, "the stopped processes' services to go", func() bool {
		services, err := cc.Agent().Services()
		if err != nil {
			return false
		}
		_, tmLeft := services[tmSvc]
		_, jmLeft := services[jmSvc(standby)]
		_, leaderLeft := services[jmSvc(leader)]
		return !tmLeft && !jmLeft && leaderLeft
	})
}
