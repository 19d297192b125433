package metadata

import (
	"context"
	"fmt"
	"strings"
)

// MD is a set of metadata: keys, always lowercase, mapped to their values.
// Keys ending in "-bin" carry binary values, which are base64-encoded on the
// wire and raw here.
type MD map[string][]string

// New returns an MD with one value per key of m, keys lowercased.
func New(m map[string]string) MD {
	md := make(MD, len(m))
	for k, v := range m {
		k = strings.ToLower(k)
		md[k] = append(md[k], v)
	}
	return md
}

// Pairs returns an MD from alternating keys and values; keys are
// lowercased and repeated keys collect their values in order. It panics if
// given an odd number of strings.
func Pairs(kv ...string) MD {
	if len(kv)%2 == 1 {
		panic(fmt.Sprintf("metadata: Pairs got an odd number of strings: %d", len(kv)))
	}
	md := make(MD, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k := strings.ToLower(kv[i])
		md[k] = append(md[k], kv[i+1])
	}
	return md
}

// Len returns the number of keys in md.
func (md MD) Len() int {
	return len(md)
}

// Copy returns a deep copy of md.
func (md MD) Copy() MD {
	out := make(MD, len(md))
	for k, v := range md {
		out[k] = copyOf(v)
	}
	return out
}

// Get returns the values for key k, matched case-insensitively.
func (md MD) Get(k string) []string {
	return md[strings.ToLower(k)]
}

// Set replaces the values for key k (lowercased) with vals. It does
// nothing when vals is empty.
func (md MD) Set(k string, vals ...string) {
	if len(vals) == 0 {
		return
	}
	md[strings.ToLower(k)] = vals
}

// Append adds vals to the values of key k (lowercased). It does nothing
// when vals is empty.
func (md MD) Append(k string, vals ...string) {
	if len(vals) == 0 {
		return
	}
	k = strings.ToLower(k)
	md[k] = append(md[k], vals...)
}

// Delete removes key k, matched case-insensitively.
func (md MD) Delete(k string) {
	delete(md, strings.ToLower(k))
}

// Join returns a new MD holding, for every key, the values of all mds in
// order.
func Join(mds ...MD) MD {
	out := MD{}
	for _, md := range mds {
		for k, v := range md {
			out[k] = append(out[k], v...)
		}
	}
	return out
}

func copyOf(v []string) []string {
	out := make([]string, len(v))
	copy(out, v)
	return out
}

type outgoingKey struct{}

type incomingKey struct{}

// outgoing is the value stored under outgoingKey: the metadata set by
// NewOutgoingContext and the pairs added since by AppendToOutgoingContext.
// Both are shared with parent contexts and never modified in place.
type outgoing struct {
	md    MD
	added [][]string
}

// NewOutgoingContext returns a child of ctx carrying md as the metadata to
// send, replacing any set before. md must not be modified afterwards.
func NewOutgoingContext(ctx context.Context, md MD) context.Context {
	return context.WithValue(ctx, outgoingKey{}, outgoing{md: md})
}

// AppendToOutgoingContext returns a child of ctx whose outgoing metadata
// also holds the alternating keys and values kv, keys lowercased. It panics
// if given an odd number of strings. The parent's metadata is not modified.
func AppendToOutgoingContext(ctx context.Context, kv ...string) context.Context {
	if len(kv)%2 == 1 {
		panic(fmt.Sprintf("metadata: AppendToOutgoingContext got an odd number of strings: %d", len(kv)))
	}
	o, _ := ctx.Value(outgoingKey{}).(outgoing)
	added := make([][]string, len(o.added)+1)
	copy(added, o.added)
	pairs := make([]string, len(kv))
	for i := 0; i < len(kv); i += 2 {
		pairs[i] = strings.ToLower(kv[i])
		pairs[i+1] = kv[i+1]
	}
	added[len(added)-1] = pairs
	return context.WithValue(ctx, outgoingKey{}, outgoing{md: o.md, added: added})
}

// FromOutgoingContext returns a copy of the outgoing metadata of ctx, with
// the appended pairs merged in, and whether ctx has any.
func FromOutgoingContext(ctx context.Context) (MD, bool) {
	o, ok := ctx.Value(outgoingKey{}).(outgoing)
	if !ok {
		return nil, false
	}
	n := len(o.md)
	for _, a := range o.added {
		n += len(a) / 2
	}
	out := make(MD, n)
	for k, v := range o.md {
		// Keys set directly in an MD literal may not be lowercase.
		k = strings.ToLower(k)
		out[k] = append(out[k], v...)
	}
	for _, a := range o.added {
		for i := 0; i < len(a); i += 2 {
			out[a[i]] = append(out[a[i]], a[i+1])
		}
	}
	return out, true
}

// FromOutgoingContextRaw returns the outgoing metadata of ctx without
// copying: md as given to NewOutgoingContext, and the key-value slices
// added since by AppendToOutgoingContext, oldest first. Keys in md may not
// be lowercase if the caller built it by hand. The caller must not modify
// any of it.
func FromOutgoingContextRaw(ctx context.Context) (md MD, added [][]string, ok bool) {
	o, ok := ctx.Value(outgoingKey{}).(outgoing)
	if !ok {
		return nil, nil, false
	}
	return o.md, o.added, true
}

// NewIncomingContext returns a child of ctx carrying md as the metadata
// received. Servers call it; tests of handlers may too.
func NewIncomingContext(ctx context.Context, md MD) context.Context {
	return context.WithValue(ctx, incomingKey{}, md)
}

// NewIncomingContextFunc returns a child of ctx whose received metadata is
// computed on demand: f is called with the context being asked (ctx or a
// descendant) when the metadata is first read. A server sets it once per
// connection, so calls whose handlers never read metadata never build it.
func NewIncomingContextFunc(ctx context.Context, f func(ctx context.Context) MD) context.Context {
	return context.WithValue(ctx, incomingKey{}, incomingFunc(f))
}

type incomingFunc func(ctx context.Context) MD

// incoming returns the received metadata of ctx, without copying it.
func incoming(ctx context.Context) (MD, bool) {
	switch v := ctx.Value(incomingKey{}).(type) {
	case MD:
		return v, true
	case incomingFunc:
		md := v(ctx)
		return md, md != nil
	}
	return nil, false
}

// FromIncomingContext returns a copy of the received metadata of ctx, keys
// lowercased, and whether ctx has any.
func FromIncomingContext(ctx context.Context) (MD, bool) {
	md, ok := incoming(ctx)
	if !ok {
		return nil, false
	}
	out := make(MD, len(md))
	for k, v := range md {
		k = strings.ToLower(k)
		out[k] = append(out[k], v...)
	}
	return out, true
}

// ValueFromIncomingContext returns a copy of the received values for key,
// matched case-insensitively, without copying the rest of the metadata.
func ValueFromIncomingContext(ctx context.Context, key string) []string {
	md, ok := incoming(ctx)
	if !ok {
		return nil
	}
	if v, ok := md[key]; ok {
		return copyOf(v)
	}
	for k, v := range md {
		if strings.EqualFold(k, key) {
			return copyOf(v)
		}
	}
	return nil
}
