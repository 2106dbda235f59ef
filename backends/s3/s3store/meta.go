package s3store

import (
	"fmt"
	"strconv"

	"github.com/sluicehq/sluice/plugins"
)

// metadata is the user metadata stored with an object: its sha256, size
// and name.
func metadata(obj plugins.Object) map[string]string {
	return map[string]string{
		metaSHA256: obj.Checksum,
		metaSize:   strconv.FormatInt(obj.Size, 10),
		metaName:   obj.Name,
	}
}

// fromMetadata reads back what metadata stored for the object name. It
// fails, wrapping plugins.ErrChecksum, for an object this backend did not
// write, or one that records another name (a digest collision, or an
// object moved to another key).
func fromMetadata(name string, meta map[string]string) (plugins.Object, error) {
	sum := meta[metaSHA256]
	size, err := strconv.ParseInt(meta[metaSize], 10, 64)
	if err != nil || size < 0 || !isHexSHA256(sum) {
		return plugins.Object{}, fmt.Errorf("%w: %q has no valid checksum metadata (x-amz-meta-%s, x-amz-meta-%s); it was not written by the Sluice S3 backend",
			plugins.ErrChecksum, name, metaSHA256, metaSize)
	}
	if stored, ok := meta[metaName]; ok && stored != name {
		return plugins.Object{}, fmt.Errorf("%w: %q: the object stored under its key records the name %q", plugins.ErrChecksum, name, stored)
	}
	return plugins.Object{Name: name, Size: size, Checksum: sum}, nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
