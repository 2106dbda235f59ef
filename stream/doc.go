// Package stream is the API a Sluice job is written in.
//
// A job builds a dataflow on an Environment: sources produce a DataStream,
// transformations (Map, Filter, FlatMap, KeyBy, Reduce, Process, Union) derive
// new streams, and sinks (Print, WriteText, Collect) consume them. Nothing runs
// until Execute. Go methods cannot have type parameters, so transformations
// that change the record type are functions:
//
//	env := stream.NewEnvironment()
//	lines := stream.FromTextFile(env, "input.txt")
//	words := stream.FlatMap(lines, func(l string, out stream.Collector[string]) { ... })
//	counts := stream.Reduce(stream.KeyBy(pairs, func(p Pair) string { return p.Word }), sum)
//	stream.Print(counts)
//	res, err := env.Execute(ctx, "wordcount")
//
// Sources and sinks of your own are a Source (FromSource) and a SinkWriter
// (AddSink). A Source's Reader that implements BatchReader, and a
// SinkWriter that implements BatchWriter, take records a batch at a time,
// which saves a call per record where the work is done in bulk.
//
// Per operator, the methods of DataStream and Sink set its name, uid,
// parallelism, max parallelism, chaining (StartNewChain, DisableChaining) and
// slot-sharing group; the Environment sets job-wide defaults.
//
// How Execute runs depends on the SLUICE_MODE environment variable:
//   - unset: an embedded mini-cluster (a JobManager and TaskManagers in this
//     process) runs the job; Execute returns when a bounded job ends or ctx is
//     cancelled.
//   - "plan": the job graph is printed as JSON on standard output and the
//     process exits, so a client can submit the binary without running it.
//
// # Keyed state and timers
//
// A KeyedProcessFunction (see Process) creates its states in Open and reads
// and writes them in ProcessElement for the key of the record at hand:
// ValueState, ListState, MapState, ReducingState (values combined into one
// with a reduce function, as NewReducingState(ctx, "max", maxFn)) and
// AggregatingState (values folded into an accumulator by an
// AggregateFunction, whose GetResult is what Get returns). Reducing and
// aggregating states store only the combined value or the accumulator.
// States are checkpointed, and restored at any parallelism, by key group;
// names starting with "_" are reserved.
//
// A function that also implements TimerHandler gets timers: from its Context
// it calls RegisterProcessingTimeTimer(t) (or DeleteProcessingTimeTimer), and
// OnTimer is called once the wall clock reaches t, with the key that
// registered the timer as the current key, so states read that key's values.
// Timers are per key and per timestamp (registering the same one twice fires
// it once), fire in timestamp order, on the task's goroutine between
// batches, also when no input arrives; and they are checkpointed with the
// keyed state. As in Flink, processing-time timers still pending when a
// bounded input ends are dropped, not fired. Event-time timers (below) all
// fire then.
//
//	func (f *fn) ProcessElement(ctx *stream.Context[string], e Event, out stream.Collector[Alert]) error {
//		f.count.Add(1)
//		ctx.RegisterProcessingTimeTimer(ctx.CurrentProcessingTime().Add(time.Minute).Truncate(time.Minute))
//		return nil
//	}
//
//	func (f *fn) OnTimer(ctx *stream.TimerContext[string], t time.Time, out stream.Collector[Alert]) error {
//		n, _ := f.count.Get()
//		out.Collect(Alert{User: ctx.Key(), Events: n, At: t})
//		f.count.Clear()
//		return nil
//	}
//
// # Event time
//
// A record's timestamp, in milliseconds since the epoch as in Flink, is a
// function of the record: records are plain Go values in batches, with no
// slot for a timestamp beside them. AssignTimestampsAndWatermarks gives a
// stream its timestamp function and watermarks, with a WatermarkStrategy:
//
//	events := stream.AssignTimestampsAndWatermarks(src,
//		stream.ForBoundedOutOfOrderness(5*time.Second, func(e Event) int64 { return e.At.UnixMilli() }).
//			WithIdleness(time.Minute))
//
// Applied right after a source, it chains to it: one watermark generator
// per source subtask, emitting the highest timestamp seen minus the bound
// minus 1 ms every auto-watermark interval (200 ms by default, see
// Environment.SetAutoWatermarkInterval) when it advanced. Filter, KeyBy,
// Rebalance, Broadcast, Forward and Union keep a stream's timestamp
// function; Map, FlatMap, Reduce and Process lose it, and WithTimestamps
// gives one back without generating watermarks.
//
// Watermarks travel with the records, on every channel. A task's watermark
// is the minimum over its inputs that are neither idle nor ended, so a
// source subtask that gets no records holds back every consumer unless its
// strategy has WithIdleness. When a bounded source ends, it emits the
// watermark math.MaxInt64, so every event-time timer fires at the end of a
// bounded job.
//
// A KeyedProcessFunction reads the record's timestamp with ctx.Timestamp()
// (false when its input has none) and the operator's watermark with
// ctx.CurrentWatermark(), and registers event-time timers with
// ctx.RegisterEventTimeTimer(t): OnTimer is called, in timestamp order,
// once the watermark reaches t, with ctx.TimeDomain() == EventTime and
// time.UnixMilli(t).
//
// Records that cross a process boundary, and keys, are encoded with codecs
// from package codec; plain structs and primitives need nothing, other types
// register a codec.
package stream
