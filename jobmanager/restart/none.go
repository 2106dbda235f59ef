package restart

import "time"

// none never restarts.
type none struct{}

// Failed always fails the job.
func (none) Failed(time.Time) (time.Duration, bool) { return 0, false }

func (none) String() string { return string(None) }
