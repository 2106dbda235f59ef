package rest

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/sluicehq/sluice/jobmanager/api"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
)

// graph answers GET /v1/jobs/{id}/graph: the job graph's tasks, as
// jobgraph.Graph.Tasks chains them (the rule the scheduler and the
// TaskManagers use), and the edges between tasks.
func (h *handler) graph(w http.ResponseWriter, r *http.Request) {
	st, ok := h.status(w, r)
	if !ok {
		return
	}
	sub, err := h.cfg.JobManager.Submission(st.ID)
	if err != nil || sub.Graph == nil {
		if err == nil {
			err = errors.New("no graph")
		}
		writeError(w, http.StatusNotFound, fmt.Errorf("job %s: %w", st.ID, err))
		return
	}
	writeJSON(w, http.StatusOK, jobGraph(st.ID, sub.Graph))
}

// jobGraph describes g's tasks and task edges.
func jobGraph(id string, g *jobgraph.Graph) api.JobGraph {
	tasks, edges := g.Tasks()
	out := api.JobGraph{JobID: id, Name: g.Name, Fingerprint: g.Fingerprint, Tasks: []api.GraphTask{}, Edges: []api.GraphEdge{}}
	for _, t := range tasks {
		at := api.GraphTask{ID: t.ID, Name: t.Name, Parallelism: t.Parallelism, MaxParallelism: t.MaxParallelism,
			SlotSharingGroup: t.SlotSharingGroup, Operators: []api.GraphOperator{}}
		inChain := make(map[string]bool, len(t.Operators))
		for _, uid := range t.Operators {
			inChain[uid] = true
		}
		for i, uid := range t.Operators {
			op, ok := g.Operator(uid)
			if !ok {
				continue
			}
			o := api.GraphOperator{UID: op.UID, Name: op.Name, Kind: op.Kind, Keyed: op.Keyed, Bounded: op.Bounded, OutType: op.OutType}
			if i > 0 {
				// A chained operator has exactly one input, from its chain.
				if in := g.Inputs(uid); len(in) == 1 && inChain[in[0].Source] {
					o.ChainedTo = in[0].Source
				}
			}
			at.Operators = append(at.Operators, o)
		}
		out.Tasks = append(out.Tasks, at)
	}
	for _, e := range edges {
		out.Edges = append(out.Edges, api.GraphEdge{Source: e.SourceTask, Target: e.TargetTask,
			SourceOperator: e.Source, TargetOperator: e.Target, Partitioning: string(e.Partitioning)})
	}
	return out
}
