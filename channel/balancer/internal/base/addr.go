package base

import (
	"github.com/h2rpc/h2rpc/channel/resolver"
)

// AddrMap maps addresses, compared with resolver.Address.Equal (so
// BalancerAttributes are ignored), to values. The zero AddrMap is empty and
// ready to use. It is not safe for concurrent use.
type AddrMap[T any] struct {
	m map[addrKey][]addrEntry[T]
	n int
}

// addrKey is the comparable part of an address; addresses with the same
// key are told apart by their Attributes.
type addrKey struct{ addr, serverName string }

type addrEntry[T any] struct {
	addr resolver.Address
	v    T
}

func keyOf(a resolver.Address) addrKey { return addrKey{a.Addr, a.ServerName} }

// Get returns the value of a and whether it is present.
func (m *AddrMap[T]) Get(a resolver.Address) (T, bool) {
	for _, e := range m.m[keyOf(a)] {
		if e.addr.Equal(a) {
			return e.v, true
		}
	}
	var zero T
	return zero, false
}

// Set sets the value of a to v.
func (m *AddrMap[T]) Set(a resolver.Address, v T) {
	k := keyOf(a)
	es := m.m[k]
	for i := range es {
		if es[i].addr.Equal(a) {
			es[i].v = v
			return
		}
	}
	if m.m == nil {
		m.m = make(map[addrKey][]addrEntry[T])
	}
	m.m[k] = append(es, addrEntry[T]{a, v})
	m.n++
}

// Delete removes a, if present.
func (m *AddrMap[T]) Delete(a resolver.Address) {
	k := keyOf(a)
	es := m.m[k]
	for i := range es {
		if es[i].addr.Equal(a) {
			es = append(es[:i:i], es[i+1:]...)
			if len(es) == 0 {
				delete(m.m, k)
			} else {
				m.m[k] = es
			}
			m.n--
			return
		}
	}
}

// Len returns the number of addresses in m.
func (m *AddrMap[T]) Len() int { return m.n }

// All calls f with every address and value of m, in no particular order,
// until f returns false. f must not change m.
func (m *AddrMap[T]) All(f func(resolver.Address, T) bool) {
	for _, es := range m.m {
		for _, e := range es {
			if !f(e.addr, e.v) {
				return
			}
		}
	}
}

// Flatten returns the addresses of state in order: those of its Endpoints,
// one endpoint after the other, when it has any, else its Addresses. The
// result may share state's backing array; callers must not modify it.
func Flatten(state resolver.State) []resolver.Address {
	return FlattenEndpoints(state.Endpoints, state.Addresses)
}

// FlattenEndpoints returns the addresses of eps in order, or addrs when eps
// is empty.
func FlattenEndpoints(eps []resolver.Endpoint, addrs []resolver.Address) []resolver.Address {
	if len(eps) == 0 {
		return addrs
	}
	var out []resolver.Address
	for _, ep := range eps {
		out = append(out, ep.Addresses...)
	}
	return out
}

// Dedupe returns addrs with each address kept only at its first place, in
// a new slice.
func Dedupe(addrs []resolver.Address) []resolver.Address {
	var seen AddrMap[struct{}]
	out := make([]resolver.Address, 0, len(addrs))
	for _, a := range addrs {
		if _, ok := seen.Get(a); ok {
			continue
		}
		seen.Set(a, struct{}{})
		out = append(out, a)
	}
	return out
}
