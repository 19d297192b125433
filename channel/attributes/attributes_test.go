package attributes

import "testing"

type key string

type eqVal struct{ n int }

func (v eqVal) Equal(o any) bool { w, ok := o.(eqVal); return ok && w.n%10 == v.n%10 }

// TestAttributes: sets are immutable, values are found by key, and Equal
// compares keys and values (with a value's own Equal when it has one).
func TestAttributes(t *testing.T) {
	var empty *Attributes
	if empty.Value(key("a")) != nil || !empty.Equal(nil) || !empty.Equal(&Attributes{}) {
		t.Fatal("the nil set is not the empty set")
	}
	a := New(key("a"), 1)
	b := a.WithValue(key("b"), 2)
	if a.Value(key("b")) != nil {
		t.Fatal("WithValue changed the original")
	}
	if b.Value(key("a")) != 1 || b.Value(key("b")) != 2 {
		t.Fatalf("values %v", b)
	}
	if !b.Equal(New(key("a"), 1).WithValue(key("b"), 2)) || b.Equal(a) || a.Equal(New(key("a"), 2)) {
		t.Fatal("Equal compares wrongly")
	}
	if !New(key("e"), eqVal{1}).Equal(New(key("e"), eqVal{11})) || New(key("e"), eqVal{1}).Equal(New(key("e"), eqVal{2})) {
		t.Fatal("a value's own Equal is not used")
	}
	if New(key("s"), []int{1}).Equal(New(key("s"), []int{1})) {
		t.Fatal("values that cannot be compared are equal")
	}
	if s := b.String(); s == "" || empty.String() != "{}" {
		t.Fatalf("String %q", s)
	}
}
