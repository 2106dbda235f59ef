package main

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/sluicehq/sluice/stream"
)

// WordCount is a word and how often it occurred.
type WordCount struct {
	Word  string
	Count int64
}

// Tokenize splits a line into lower-case words: runs of letters and digits
// (an apostrophe inside a word is kept, as in "'tis" -> "tis", "o'er").
func Tokenize(line string, out stream.Collector[WordCount]) {
	for _, w := range strings.FieldsFunc(line, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	}) {
		w = strings.Trim(w, "'")
		if w != "" {
			out.Collect(WordCount{Word: strings.ToLower(w), Count: 1})
		}
	}
}

// Counts holds the latest count of every word, merged from the sink subtasks.
type Counts struct {
	mu     sync.Mutex
	counts map[string]int64
}

// Build adds the word count to the dataflow reading lines and returns where
// the counts end up.
func Build(lines *stream.DataStream[string]) *Counts {
	words := stream.FlatMap(lines, Tokenize).Name("Tokenize")
	keyed := stream.KeyBy(words, func(w WordCount) string { return w.Word })
	counts := stream.Reduce(keyed, func(acc, w WordCount) WordCount {
		acc.Count += w.Count
		return acc
	}).Name("Count")
	result := &Counts{counts: map[string]int64{}}
	stream.AddSink(counts, "Latest", func(int, int) (stream.SinkWriter[WordCount], error) {
		return &latestWriter{to: result, dirty: map[string]int64{}}, nil
	})
	return result
}

// latestWriter keeps the latest count of each word it saw since the last
// flush and merges them into the shared result on flush, so the result
// holds one entry per word rather than one per update.
type latestWriter struct {
	to    *Counts
	dirty map[string]int64
}

func (l *latestWriter) Write(w WordCount) error {
	l.dirty[w.Word] = w.Count
	return nil
}

func (l *latestWriter) Flush() error {
	if len(l.dirty) == 0 {
		return nil
	}
	l.to.mu.Lock()
	maps.Copy(l.to.counts, l.dirty)
	l.to.mu.Unlock()
	clear(l.dirty)
	return nil
}

func (l *latestWriter) Close() error { return nil }

// All returns a copy of every word's count.
func (c *Counts) All() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

// Top returns the n most frequent words, most frequent first, ties in
// alphabetical order.
func Top(counts map[string]int64, n int) []WordCount {
	all := make([]WordCount, 0, len(counts))
	for w, c := range counts {
		all = append(all, WordCount{w, c})
	}
	slices.SortFunc(all, func(a, b WordCount) int {
		if a.Count != b.Count {
			return int(b.Count - a.Count)
		}
		return strings.Compare(a.Word, b.Word)
	})
	return all[:min(n, len(all))]
}
