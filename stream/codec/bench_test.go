package codec_test

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/stream/codec"
)

func BenchmarkEncodeStruct(b *testing.B) {
	b.Run("small", func(b *testing.B) {
		benchEncode(b, small{A: -123456789, B: "a string field", C: 3.25})
	})
	b.Run("record", func(b *testing.B) { benchEncode(b, sampleRecord()) })
}

func BenchmarkDecodeStruct(b *testing.B) {
	b.Run("small", func(b *testing.B) {
		benchDecode(b, small{A: -123456789, B: "a string field", C: 3.25})
	})
	b.Run("record", func(b *testing.B) { benchDecode(b, sampleRecord()) })
}

func BenchmarkEncodeString(b *testing.B) {
	b.Run("16B", func(b *testing.B) { benchEncode(b, strings.Repeat("x", 16)) })
	b.Run("1KiB", func(b *testing.B) { benchEncode(b, strings.Repeat("x", 1024)) })
}

func BenchmarkDecodeInt64(b *testing.B) {
	b.Run("small", func(b *testing.B) { benchDecode(b, int64(42)) })
	b.Run("large", func(b *testing.B) { benchDecode(b, int64(-1)<<60) })
}

func benchEncode[T any](b *testing.B, v T) {
	c := codec.MustFor[T]()
	buf := c.Append(nil, v)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = c.Append(buf[:0], v)
	}
}

func benchDecode[T any](b *testing.B, v T) {
	c := codec.MustFor[T]()
	buf := c.Append(nil, v)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	var got T
	for b.Loop() {
		if _, err := c.Decode(buf, &got); err != nil {
			b.Fatal(err)
		}
	}
}
