package s3store

import (
	"encoding/hex"
	"hash"
	"io"

	"github.com/sluicehq/sluice/plugins"
)

// hashingReader hashes and counts what is read through it, and remembers
// the first error of the underlying reader other than EOF.
type hashingReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	hr.h.Write(p[:n])
	hr.n += int64(n)
	if err != nil && err != io.EOF && hr.err == nil {
		hr.err = err
	}
	return n, err
}

// object is what Put returns once hr is read to the end.
func (hr *hashingReader) object(name string) plugins.Object {
	return plugins.Object{Name: name, Size: hr.n, Checksum: hex.EncodeToString(hr.h.Sum(nil))}
}

// readUpTo reads r until EOF or limit bytes, growing its buffer as data
// comes so a small object costs a small buffer.
func readUpTo(r io.Reader, limit int64) ([]byte, error) {
	buf := make([]byte, 0, min(limit, 64<<10))
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(limit, 2*int64(cap(buf))))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}
