// Package ringhash implements the ring_hash_experimental balancing policy
// of gRFC A42 with gRFC A76's request hash header: each READY server owns
// arcs of a hash ring, a call goes to the owner of its hash, so calls with
// the same key reach the same server, and when one of N servers leaves
// only its keys, about 1/N of them, move.
package ringhash
