package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Size is an amount of memory as written in a file or a flag: bytes
// ("1073741824") or a number with a unit ("512MiB", "2GiB", "1.5GB").
// KiB, MiB, GiB and TiB are powers of 1024; KB, MB, GB and TB powers of
// 1000. Units ignore case.
type Size string

// sizeUnits are the units of a Size, in the order error messages list
// them.
var sizeUnits = []struct {
	name string
	mult int64
}{
	{"B", 1}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
}

// Bytes returns the size in bytes.
func (s Size) Bytes() (int64, error) {
	str := strings.TrimSpace(string(s))
	i := strings.IndexFunc(str, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(str)
	}
	num, unit := str[:i], strings.TrimSpace(str[i:])
	if num == "" {
		return 0, fmt.Errorf("%q is not a size; write bytes or a number with a unit, e.g. \"512MiB\" or \"2GiB\"", string(s))
	}
	mult := int64(0)
	if unit == "" {
		mult = 1
	}
	for _, u := range sizeUnits {
		if strings.EqualFold(unit, u.name) {
			mult = u.mult
		}
	}
	if mult == 0 {
		names := make([]string, len(sizeUnits))
		for i, u := range sizeUnits {
			names[i] = u.name
		}
		return 0, fmt.Errorf("%q: unknown unit %q; use %s or %s, e.g. \"512MiB\"", string(s), unit,
			strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > math.MaxInt64/mult {
			return 0, fmt.Errorf("%q is too large for a size", string(s))
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size; write bytes or a number with a unit, e.g. \"512MiB\" or \"2GiB\"", string(s))
	}
	b := f * float64(mult)
	if b >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large for a size", string(s))
	}
	return int64(b), nil
}

// FormatSize writes n bytes as a Size, in the largest binary unit that
// divides it ("1GiB"), or in bytes.
func FormatSize(n int64) Size {
	if n == 0 {
		return "0"
	}
	for _, u := range []struct {
		name string
		mult int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n%u.mult == 0 {
			return Size(strconv.FormatInt(n/u.mult, 10) + u.name)
		}
	}
	return Size(strconv.FormatInt(n, 10))
}

// Duration is a duration in Go's syntax, as time.ParseDuration reads it:
// "500ms", "2m", "1h30m".
type Duration string

// errNoUnit is returned for a duration written as a bare number.
var errNoUnit = errors.New("a duration needs a unit")

// Duration returns the parsed duration.
func (d Duration) Duration() (time.Duration, error) {
	s := strings.TrimSpace(string(d))
	v, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil && s != "0" {
			return 0, fmt.Errorf("%q: %w; write e.g. \"%ss\" for seconds, or \"500ms\", \"2m\", \"1h\"", string(d), errNoUnit, s)
		}
		return 0, fmt.Errorf("%q is not a duration; use Go's syntax, e.g. \"500ms\", \"10s\", \"2m\" or \"1h30m\"", string(d))
	}
	return v, nil
}

// FormatDuration writes d as a Duration, without the zero parts that
// time.Duration.String adds ("2m", not "2m0s").
func FormatDuration(d time.Duration) Duration {
	for _, u := range []struct {
		name string
		unit time.Duration
	}{{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if d != 0 && d%u.unit == 0 {
			return Duration(strconv.FormatInt(int64(d/u.unit), 10) + u.name)
		}
	}
	return Duration(d.String())
}
