package channel

// Authority returns the :authority the channel's calls carry: WithAuthority's,
// else the one of the target.
func (cc *ClientConn) Authority() string { return cc.authority }
