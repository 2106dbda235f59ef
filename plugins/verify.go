package plugins

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// Verified wraps the reader of a stored object so that reading it to the
// end checks the bytes against obj's size and checksum: on a mismatch,
// Read returns an error wrapping ErrChecksum that names the object instead
// of io.EOF. Backends return it from Get, as the Backend contract asks.
func Verified(rc io.ReadCloser, obj Object) io.ReadCloser {
	return &verified{rc: rc, obj: obj, hash: sha256.New()}
}

type verified struct {
	rc   io.ReadCloser
	obj  Object
	hash hash.Hash
	size int64
	err  error // set at the end
}

func (v *verified) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.rc.Read(p)
	v.hash.Write(p[:n])
	v.size += int64(n)
	if v.size > v.obj.Size {
		// More bytes than stored: fail now rather than read on.
		err = io.EOF
	}
	if err == io.EOF {
		sum := hex.EncodeToString(v.hash.Sum(nil))
		if v.size != v.obj.Size || sum != v.obj.Checksum {
			err = fmt.Errorf("%w: object %q: read %d bytes with sha256 %s, stored as %d bytes with sha256 %s",
				ErrChecksum, v.obj.Name, v.size, sum, v.obj.Size, v.obj.Checksum)
		}
		v.err = err
	}
	return n, err
}

func (v *verified) Close() error { return v.rc.Close() }
