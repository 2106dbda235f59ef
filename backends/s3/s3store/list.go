package s3store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/plugins"
)

// List returns the objects whose names start with prefix, sorted by name,
// with the size and checksum from their metadata. It lists the plain keys
// under the prefix and all digest keys of long names (rarely any), then
// reads each object's metadata with a HeadObject, listConcurrency at a
// time: ListObjectsV2 returns no user metadata. Staging keys are left
// out; objects without checksum metadata have an empty Checksum.
func (s *Store) List(ctx context.Context, prefix string) ([]plugins.Object, error) {
	t, err := s.configured()
	if err != nil {
		return nil, err
	}
	var found []listed
	if !t.long(prefix) { // else every matching name is long
		err := t.listKeys(ctx, t.key(prefix), func(key string) {
			if name, ok := t.name(key); ok && strings.HasPrefix(name, prefix) {
				found = append(found, listed{key: key, name: name})
			}
		})
		if err != nil {
			return nil, fmt.Errorf("s3: list %q at %s: %w", prefix, t.endpoint, err)
		}
	}
	err = t.listKeys(ctx, t.key(longDir+"/"), func(key string) {
		found = append(found, listed{key: key})
	})
	if err != nil {
		return nil, fmt.Errorf("s3: list %q at %s: %w", prefix, t.endpoint, err)
	}
	objs, err := t.heads(ctx, found, prefix)
	if err != nil {
		return nil, fmt.Errorf("s3: list %q at %s: %w", prefix, t.endpoint, err)
	}
	slices.SortFunc(objs, func(a, b plugins.Object) int { return strings.Compare(a.Name, b.Name) })
	return objs, nil
}

// listed is a key found by listing, with its object name if the key says
// it ("" for a digest key).
type listed struct {
	key, name string
}

// listKeys calls fn for every key that starts with keyPrefix.
func (t *target) listKeys(ctx context.Context, keyPrefix string, fn func(key string)) error {
	pages := s3.NewListObjectsV2Paginator(t.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(t.bucket),
		Prefix: aws.String(keyPrefix),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			fn(aws.ToString(o.Key))
		}
	}
	return nil
}

// heads reads the metadata of the listed objects and returns those whose
// names start with prefix, leaving out any deleted since the listing.
func (t *target) heads(ctx context.Context, found []listed, prefix string) ([]plugins.Object, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	objs := make([]plugins.Object, len(found))
	keep := make([]bool, len(found))
	sem := make(chan struct{}, listConcurrency)
	var wg sync.WaitGroup
	for i, l := range found {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			out, err := t.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(l.key)})
			switch {
			case isNoSuchKey(err): // deleted since the listing
			case err != nil:
				cancel(fmt.Errorf("reading the metadata of %s: %w", l.key, err))
			default:
				objs[i], keep[i] = t.described(l, prefix, out.Metadata, aws.ToInt64(out.ContentLength))
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	kept := objs[:0]
	for i, obj := range objs {
		if keep[i] {
			kept = append(kept, obj)
		}
	}
	return kept, nil
}

// described is the Object a listed key holds, and whether List returns it.
func (t *target) described(l listed, prefix string, meta map[string]string, size int64) (plugins.Object, bool) {
	if l.name == "" { // a digest key: the name is in the metadata
		name := meta[metaName]
		if plugins.ValidName(name) != nil || !strings.HasPrefix(name, prefix) || t.objectKey(name) != l.key {
			return plugins.Object{}, false
		}
		obj, err := fromMetadata(name, meta)
		return obj, err == nil
	}
	obj, err := fromMetadata(l.name, meta)
	if err != nil { // not written by this backend
		return plugins.Object{Name: l.name, Size: size}, true
	}
	return obj, true
}
