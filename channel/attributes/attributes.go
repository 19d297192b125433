package attributes

import "fmt"

// Attributes is an immutable set of key-value pairs that resolvers attach
// to addresses and states and balancers read. Keys should be of a type of
// their own package, so that they cannot collide. The nil *Attributes is
// the empty set.
type Attributes struct {
	m map[any]any
}

// New returns a set holding key with value.
func New(key, value any) *Attributes {
	return &Attributes{m: map[any]any{key: value}}
}

// WithValue returns a new set with a's pairs and key set to value.
func (a *Attributes) WithValue(key, value any) *Attributes {
	n := &Attributes{m: make(map[any]any, a.len()+1)}
	if a != nil {
		for k, v := range a.m {
			n.m[k] = v
		}
	}
	n.m[key] = value
	return n
}

// Value returns the value of key, or nil.
func (a *Attributes) Value(key any) any {
	if a == nil {
		return nil
	}
	return a.m[key]
}

func (a *Attributes) len() int {
	if a == nil {
		return 0
	}
	return len(a.m)
}

// Equal reports whether a and o hold the same keys with equal values.
// A value that has a method Equal(any) bool is compared with it, others
// with ==.
func (a *Attributes) Equal(o *Attributes) bool {
	if a.len() != o.len() {
		return false
	}
	if a.len() == 0 {
		return true
	}
	for k, v := range a.m {
		ov, ok := o.m[k]
		if !ok {
			return false
		}
		if eq, ok := v.(interface{ Equal(o any) bool }); ok {
			if !eq.Equal(ov) {
				return false
			}
		} else if !comparableEqual(v, ov) {
			return false
		}
	}
	return true
}

// comparableEqual compares two values with ==, treating values that are
// not comparable as different.
func comparableEqual(a, b any) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	return a == b
}

// String lists the pairs, for logs.
func (a *Attributes) String() string {
	if a.len() == 0 {
		return "{}"
	}
	return fmt.Sprint(a.m)
}
