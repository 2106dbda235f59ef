package state

import "unsafe"

// States keep their per-slot entries in pages of pageSize slots, so that a
// snapshot can share them with the live state and a write copies only the
// page it touches (see doc.go, "Snapshots").
const (
	pageBits = 7
	pageSize = 1 << pageBits
	pageMask = pageSize - 1
)

// pageHeader is embedded first in every page.
type pageHeader struct {
	// epoch is the Cursor epoch the page was created or copied in. A page
	// whose epoch is not after Cursor.snap may be shared with a snapshot.
	epoch uint64
}

func (h *pageHeader) header() *pageHeader { return h }

// pageOf is a pointer to a page type P.
type pageOf[P any] interface {
	*P
	header() *pageHeader
}

// writablePage returns page pi of *pages for the owner to write to: it
// creates the missing pages up to pi, and replaces a page that a live
// snapshot shares with a shallow copy of it. It is the slow path of every
// write; the fast path is a state's own check of the page's epoch.
func writablePage[P any, PP pageOf[P]](c *Cursor, pages *[]PP, pi int) PP {
	if pi < 0 {
		panic("state: a state is used before any key was set")
	}
	for len(*pages) <= pi {
		p := PP(new(P))
		p.header().epoch = c.epoch
		*pages = append(*pages, p)
		c.grew(int64(unsafe.Sizeof(*p)))
	}
	p := (*pages)[pi]
	if p.header().epoch > c.snap || !c.snapshotLive() {
		return p
	}
	cp := PP(new(P))
	*cp = *p
	cp.header().epoch = c.epoch
	(*pages)[pi] = cp
	c.cow.Add(int64(unsafe.Sizeof(*cp)))
	return cp
}
