package resolver

// AuthorityOverrider is implemented by builders whose targets do not name
// an authority the channel can send, such as the unix socket resolver's:
// the channel uses OverrideAuthority's result as its default authority
// instead of one taken from the target.
type AuthorityOverrider interface {
	// OverrideAuthority returns the authority of calls on target.
	OverrideAuthority(target Target) string
}
