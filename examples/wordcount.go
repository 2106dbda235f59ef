package examples

import (
	"bufio"
	_ "embed"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/sluicehq/sluice/stream"
)

// Hamlet is the text wordcount counts when it is given no input.
//
//go:embed hamlet.txt
var Hamlet string

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

// WordCounts adds the word count to the dataflow reading lines: the running
// count of each word after each occurrence.
func WordCounts(lines *stream.DataStream[string]) *stream.DataStream[WordCount] {
	words := stream.FlatMap(lines, Tokenize).Name("Tokenize")
	keyed := stream.KeyBy(words, func(w WordCount) string { return w.Word })
	return stream.Reduce(keyed, func(acc, w WordCount) WordCount {
		acc.Count += w.Count
		return acc
	}).Name("Count")
}

// CollectCounts gathers the final count of every word in memory (embedded
// mini-cluster only).
func CollectCounts(counts *stream.DataStream[WordCount]) *Counts {
	result := &Counts{counts: map[string]int64{}}
	stream.AddSink(counts, "Latest", func(int, int) (stream.SinkWriter[WordCount], error) {
		return &latestWriter{to: result, dirty: map[string]int64{}}, nil
	})
	return result
}

// WriteCounts writes the final count of every word to dir when the input
// ends: one file per sink subtask, part-1, part-2, ..., each a sorted list of
// "word count" lines. It works on any cluster, the files being written by
// the TaskManagers.
func WriteCounts(counts *stream.DataStream[WordCount], dir string) *stream.Sink {
	return stream.AddSink(counts, "WriteCounts", func(subtask, _ int) (stream.SinkWriter[WordCount], error) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("wordcount output: %w", err)
		}
		return &countFile{path: filepath.Join(dir, fmt.Sprintf("part-%d", subtask+1)), latest: map[string]int64{}}, nil
	})
}

type countFile struct {
	path   string
	latest map[string]int64
}

func (c *countFile) Write(w WordCount) error { c.latest[w.Word] = w.Count; return nil }
func (c *countFile) Flush() error            { return nil }
func (c *countFile) Close() error            { return nil }

// Finish writes the file once the input has ended, through a temporary
// file, so that a reader never sees a partial result.
func (c *countFile) Finish() error {
	tmp := c.path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, word := range slices.Sorted(maps.Keys(c.latest)) {
		fmt.Fprintf(w, "%s %d\n", word, c.latest[word])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, c.path)
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
