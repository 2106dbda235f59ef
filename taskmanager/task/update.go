package task

// State is the execution state of one subtask.
type State string

// Subtask states.
const (
	StateDeploying State = "deploying"
	StateRunning   State = "running"
	StateFinished  State = "finished"
	StateFailed    State = "failed"
	StateCancelled State = "cancelled"
)

// Terminal reports whether the subtask has stopped.
func (s State) Terminal() bool {
	return s == StateFinished || s == StateFailed || s == StateCancelled
}

// Update is what a TaskManager reports to the JobManager about a subtask.
type Update struct {
	JobID   string
	Attempt int
	Task    string
	Subtask int
	State   State
	Err     error  // for StateFailed
	Stats   *Stats // the subtask's live counters (in-process only)
}
