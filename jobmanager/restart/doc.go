// Package restart decides whether and when a failed job restarts. It is the
// Sluice counterpart of Flink's restart strategies and a pure decision core:
// no goroutines, no clock reads, no I/O. The JobManager reports each failure
// of a job with the time it happened ([Strategy.Failed]) and gets back the
// delay before the restart, or the verdict that the job must fail for good.
//
// # Kinds
//
//   - [FixedDelay] allows [Config.Attempts] restarts in total (default 3),
//     each after [Config.Delay] (default 1s). The failure after the last
//     allowed restart ends the job.
//   - [ExponentialDelay] starts at [Config.InitialDelay] (default 1s) and
//     multiplies the delay by [Config.Multiplier] (default 2) on every
//     failure, up to [Config.MaxDelay] (default 1m). A job that ran for
//     [Config.ResetThreshold] (default 1h) since its restart starts from
//     InitialDelay again. It never gives up. [Config.Jitter] (default 0.1)
//     spreads each delay by up to ±Jitter of itself, never above MaxDelay,
//     from a generator seeded with [Config.Seed], so a given seed always
//     yields the same delays.
//   - [FailureRate] allows at most [Config.MaxFailures] failures (default 1)
//     within any window of [Config.Interval] (default 1m) ending at the
//     failure being decided, both ends included; the failure that exceeds
//     that ends the job. Restarts wait [Config.Delay] (default 1s).
//   - [None] never restarts.
//
// Zero fields of a [Config] take the defaults of its kind; fields that do
// not apply to the kind are ignored but must still be in range. The kind
// itself has no default: use [DefaultConfig] for fixed-delay with its
// defaults.
//
// Once a strategy has said that the job must fail (ok=false), it says so
// for every later failure too: the verdict is final.
package restart
