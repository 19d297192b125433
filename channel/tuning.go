package channel

// Connection tuning, with grpc-go's names. Window sizes below 64 KiB are
// ignored, as in grpc-go; setting one turns off the windows' growth by
// bandwidth-delay estimation (BDP), as it does there.

// minWindow is the least window size grpc-go accepts.
const minWindow = 64 << 10

// WithInitialWindowSize sets the receive window of each stream.
func WithInitialWindowSize(n int32) DialOption {
	return func(o *dialOptions) {
		if n >= minWindow {
			o.connCfg.InitialWindowSize, o.connCfg.DisableBDP = uint32(n), true
		}
	}
}

// WithInitialConnWindowSize sets the receive window of each connection.
func WithInitialConnWindowSize(n int32) DialOption {
	return func(o *dialOptions) {
		if n >= minWindow {
			o.connCfg.InitialConnWindowSize, o.connCfg.DisableBDP = uint32(n), true
		}
	}
}

// WithMaxHeaderListSize sets the largest response header list accepted
// (SETTINGS_MAX_HEADER_LIST_SIZE; default 64 KiB).
func WithMaxHeaderListSize(n uint32) DialOption {
	return func(o *dialOptions) { o.connCfg.MaxHeaderListSize = n }
}

// WithReadBufferSize sets the size of the buffer each read of a connection
// fills (default 32 KiB).
func WithReadBufferSize(n int) DialOption {
	return func(o *dialOptions) { o.connCfg.ReadBufferSize = n }
}

// WithWriteBufferSize sets how many bytes may wait to be written on a
// connection before senders wait for it to drain (default 256 KiB).
func WithWriteBufferSize(n int) DialOption {
	return func(o *dialOptions) { o.connCfg.WriteBufferSize = n }
}
