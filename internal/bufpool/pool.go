package bufpool

import "sync"

// Classes are the capacities of pooled buffers, smallest first.
var classes = [...]int{1 << 10, 4 << 10, 16 << 10, 32 << 10, 64 << 10, 256 << 10, 1 << 20}

var pools [len(classes)]sync.Pool

// Get returns a buffer of length 0 and capacity at least n. Buffers larger
// than the largest class are allocated and not pooled.
func Get(n int) *[]byte {
	for i, c := range classes {
		if n <= c {
			if p, _ := pools[i].Get().(*[]byte); p != nil {
				*p = (*p)[:0]
				return p
			}
			b := make([]byte, 0, c)
			return &b
		}
	}
	b := make([]byte, 0, n)
	return &b
}

// Put returns a buffer to its class. The caller must not use it afterwards.
func Put(p *[]byte) {
	if p == nil {
		return
	}
	c := cap(*p)
	// A buffer goes into the largest class it can fully serve.
	for i := len(classes) - 1; i >= 0; i-- {
		if c >= classes[i] {
			if c > 2*classes[i] && i == len(classes)-1 {
				return // grown far beyond the largest class: let it go
			}
			*p = (*p)[:0]
			pools[i].Put(p)
			return
		}
	}
}
