package keygroup

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"reflect"

	"github.com/cespare/xxhash/v2"

	"github.com/sluicehq/sluice/stream/codec"
)

// Of returns the key group in [0, maxParallelism) of a key whose hash is h.
// It uses a multiply-shift range reduction instead of a division.
func Of(h uint64, maxParallelism int) int {
	hi, _ := bits.Mul64(h, uint64(maxParallelism))
	return int(hi)
}

// Subtask returns the index of the subtask, out of parallelism, that owns key
// group kg.
func Subtask(kg, maxParallelism, parallelism int) int {
	return kg * parallelism / maxParallelism
}

// Range returns the key groups [start, end) owned by subtask i of parallelism.
func Range(maxParallelism, parallelism, i int) (start, end int) {
	start = (i*maxParallelism + parallelism - 1) / parallelism
	end = ((i+1)*maxParallelism + parallelism - 1) / parallelism
	return start, end
}

// Hasher returns a stable 64-bit hash of a key.
type Hasher[K any] func(K) uint64

// NewHasher returns a hasher for keys of type K. Strings and integers are
// hashed directly; other types through their codec's encoding. The returned
// hasher keeps a scratch buffer, so each goroutine needs its own.
func NewHasher[K any]() (Hasher[K], error) {
	var zero K
	switch any(zero).(type) {
	case string:
		h := func(s string) uint64 { return xxhash.Sum64String(s) }
		return any(Hasher[string](h)).(Hasher[K]), nil
	case int:
		return any(Hasher[int](func(v int) uint64 { return hashUint(uint64(v)) })).(Hasher[K]), nil
	case int64:
		return any(Hasher[int64](func(v int64) uint64 { return hashUint(uint64(v)) })).(Hasher[K]), nil
	case int32:
		return any(Hasher[int32](func(v int32) uint64 { return hashUint(uint64(v)) })).(Hasher[K]), nil
	case uint64:
		return any(Hasher[uint64](hashUint)).(Hasher[K]), nil
	case uint32:
		return any(Hasher[uint32](func(v uint32) uint64 { return hashUint(uint64(v)) })).(Hasher[K]), nil
	case float64:
		// -0 and +0 are equal keys: hash them alike.
		return any(Hasher[float64](func(v float64) uint64 { return hashUint(math.Float64bits(v + 0)) })).(Hasher[K]), nil
	}
	c, err := codec.For[K]()
	if err != nil {
		return nil, fmt.Errorf("keygroup: cannot hash keys of type %v: %w", reflect.TypeFor[K](), err)
	}
	var scratch []byte
	return func(k K) uint64 {
		scratch = c.Append(scratch[:0], k)
		return xxhash.Sum64(scratch)
	}, nil
}

func hashUint(v uint64) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	return xxhash.Sum64(b[:])
}
