package codec_test

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/stream/codec"
)

type Order struct {
	ID     uint64
	Symbol string
	Qty    int32
	Legs   []string
}

func ExampleFor() {
	c, err := codec.For[Order]()
	if err != nil {
		panic(err)
	}
	buf := c.Append(nil, Order{ID: 7, Symbol: "ACME", Qty: -100, Legs: []string{"a", "b"}})
	fmt.Printf("% x\n", buf)

	var o Order
	n, err := c.Decode(buf, &o)
	fmt.Println(n, err, o)
	// Output:
	// 07 04 41 43 4d 45 c7 01 02 01 61 01 62
	// 13 <nil> {7 ACME -100 [a b]}
}

// Ticker is a type from elsewhere that we want to encode as upper case.
type Ticker string

type tickerCodec struct{}

func (tickerCodec) Append(buf []byte, t Ticker) []byte {
	return codec.MustFor[string]().Append(buf, strings.ToUpper(string(t)))
}

func (tickerCodec) Decode(buf []byte, t *Ticker) (int, error) {
	return codec.MustFor[string]().Decode(buf, (*string)(t))
}

func ExampleRegister() {
	codec.Register[Ticker](tickerCodec{})

	// The registered codec is used for Ticker on its own and inside
	// other types.
	c := codec.MustFor[[]Ticker]()
	var ts []Ticker
	_, err := c.Decode(c.Append(nil, []Ticker{"acme", "initech"}), &ts)
	fmt.Println(ts, err)
	// Output:
	// [ACME INITECH] <nil>
}
