package codec

import "unsafe"

// fieldPlan is a struct field to encode.
type fieldPlan struct {
	offset uintptr
	name   string
	plan   *plan
}

// structPlan encodes every field, exported or not, in declaration order,
// with nothing between them. Fields of zero-size built-in types encode to
// nothing and are skipped.
func (c *compiler) structPlan(p *plan) error {
	t := p.typ
	fields := make([]fieldPlan, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		fp, err := c.child(f.Type, pathStep{kind: stepField, name: f.Name})
		if err != nil {
			return err
		}
		// A struct cannot contain itself by value, so fp is complete.
		p.minSize = addSize(p.minSize, fp.minSize)
		if !fp.empty {
			fields = append(fields, fieldPlan{offset: f.Offset, name: f.Name, plan: fp})
		}
	}
	if len(fields) == 0 {
		setEmpty(p)
		return nil
	}
	p.enc = func(buf []byte, ptr unsafe.Pointer, depth int) []byte {
		for i := range fields {
			f := &fields[i]
			buf = f.plan.enc(buf, unsafe.Add(ptr, f.offset), depth)
		}
		return buf
	}
	p.dec = func(buf []byte, ptr unsafe.Pointer, depth int) (int, error) {
		off := 0
		for i := range fields {
			f := &fields[i]
			n, err := f.plan.dec(buf[off:], unsafe.Add(ptr, f.offset), depth)
			if err != nil {
				return 0, atField(err, f.name)
			}
			off += n
		}
		return off, nil
	}
	return nil
}

// setEmpty makes p the plan of a zero-size type, which encodes to nothing.
func setEmpty(p *plan) {
	p.empty = true
	p.minSize = 0
	p.enc = func(buf []byte, _ unsafe.Pointer, _ int) []byte { return buf }
	p.dec = func([]byte, unsafe.Pointer, int) (int, error) { return 0, nil }
}
