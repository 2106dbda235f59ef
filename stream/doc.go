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
// Records that cross a process boundary, and keys, are encoded with codecs
// from package codec; plain structs and primitives need nothing, other types
// register a codec.
package stream
