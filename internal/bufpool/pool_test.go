package bufpool

import "testing"

func TestGetCapacity(t *testing.T) {
	for _, n := range []int{0, 1, 1024, 1025, 16 << 10, 1<<20 + 1} {
		p := Get(n)
		if len(*p) != 0 || cap(*p) < n {
			t.Fatalf("Get(%d): len %d cap %d", n, len(*p), cap(*p))
		}
		Put(p)
	}
}

func TestPutGrownBufferServesItsClass(t *testing.T) {
	b := make([]byte, 10, 5000) // between 4 KiB and 16 KiB: serves 4 KiB requests
	Put(&b)
	for i := 0; i < 100; i++ {
		p := Get(4 << 10)
		if cap(*p) < 4<<10 {
			t.Fatalf("cap %d < 4096", cap(*p))
		}
	}
}

func TestPutSmallBufferDropped(t *testing.T) {
	b := make([]byte, 0, 10)
	Put(&b) // smaller than every class: dropped, must not be returned by Get
	p := Get(1)
	if cap(*p) < 1<<10 {
		t.Fatalf("cap %d", cap(*p))
	}
}
