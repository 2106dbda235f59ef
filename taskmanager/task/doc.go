// Package task is the contract between the runtime and the code of a job, and
// the loop that runs one task.
//
// A task is one parallel instance (subtask) of an operator chain and runs on
// one goroutine. The job's code (package stream) builds the chain for a
// Deployment as a Chain: typed operators that call each other directly, fed
// one input Buffer at a time. This package knows nothing of record types; it
// drives the chain: reads the inbox, hands each buffer to the chain, flushes
// partly filled output batches when the task is about to wait for input or
// the buffer timeout has passed, fires the chain's timers when they are due
// (waking its wait for input at the next deadline, see Timers), computes the
// task's input watermark from its channels' watermarks and tells the chain
// when it advances (see EventTime), ends the outputs when the inputs end,
// and turns a panic in user code into an error that names the operator.
package task
