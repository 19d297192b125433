package stub

import (
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/codec"
)

// callInfo is what the call options of one call add up to. Calls keep it on
// the stack: options are applied by value.
type callInfo struct {
	compressor     string
	maxRecvMsgSize int
	maxSendMsgSize int
	waitForReady   bool
	contentSubtype string
	header         *metadata.MD
	trailer        *metadata.MD
	codec          codec.Codec
	creds          credentials.PerRPCCredentials // PerRPCCredentials
}

// CallOption configures one call. Pass them to a generated client method or
// to ClientConn.Invoke and NewStream, or set defaults for every call with
// WithDefaultCallOptions.
//
// Interceptors may define their own options by embedding EmptyCallOption and
// looking for them in the options they are given.
type CallOption interface {
	apply(ci callInfo) callInfo
}

func applyCallOptions(ci callInfo, opts []CallOption) callInfo {
	for _, o := range opts {
		ci = o.apply(ci)
	}
	return ci
}

// EmptyCallOption does nothing. Embed it in a type of your own to make a
// CallOption that only your interceptors understand.
type EmptyCallOption struct{}

func (EmptyCallOption) apply(ci callInfo) callInfo { return ci }

// Header stores the response headers of the call in *md.
func Header(md *metadata.MD) CallOption { return HeaderCallOption{HeaderAddr: md} }

// HeaderCallOption is the CallOption made by Header.
type HeaderCallOption struct{ HeaderAddr *metadata.MD }

func (o HeaderCallOption) apply(ci callInfo) callInfo { ci.header = o.HeaderAddr; return ci }

// Trailer stores the trailers of the call in *md.
func Trailer(md *metadata.MD) CallOption { return TrailerCallOption{TrailerAddr: md} }

// TrailerCallOption is the CallOption made by Trailer.
type TrailerCallOption struct{ TrailerAddr *metadata.MD }

func (o TrailerCallOption) apply(ci callInfo) callInfo { ci.trailer = o.TrailerAddr; return ci }

// UseCompressor compresses the call's requests with the compressor
// registered under name (see package codec), e.g. "gzip". "identity"
// turns off a default compressor.
func UseCompressor(name string) CallOption { return CompressorCallOption{CompressorType: name} }

// CompressorCallOption is the CallOption made by UseCompressor.
type CompressorCallOption struct{ CompressorType string }

func (o CompressorCallOption) apply(ci callInfo) callInfo {
	ci.compressor = o.CompressorType
	return ci
}

// MaxCallRecvMsgSize limits the size of the messages the call receives;
// larger ones fail the call with codes.ResourceExhausted. The default is 4 MiB.
func MaxCallRecvMsgSize(bytes int) CallOption { return MaxRecvMsgSizeCallOption{MaxRecvMsgSize: bytes} }

// MaxRecvMsgSizeCallOption is the CallOption made by MaxCallRecvMsgSize.
type MaxRecvMsgSizeCallOption struct{ MaxRecvMsgSize int }

func (o MaxRecvMsgSizeCallOption) apply(ci callInfo) callInfo {
	ci.maxRecvMsgSize = o.MaxRecvMsgSize
	return ci
}

// MaxCallSendMsgSize limits the size of the messages the call sends; larger
// ones fail with codes.ResourceExhausted. The default is no limit.
func MaxCallSendMsgSize(bytes int) CallOption { return MaxSendMsgSizeCallOption{MaxSendMsgSize: bytes} }

// MaxSendMsgSizeCallOption is the CallOption made by MaxCallSendMsgSize.
type MaxSendMsgSizeCallOption struct{ MaxSendMsgSize int }

func (o MaxSendMsgSizeCallOption) apply(ci callInfo) callInfo {
	ci.maxSendMsgSize = o.MaxSendMsgSize
	return ci
}

// WaitForReady makes the call wait for a connection to become ready instead
// of failing with codes.Unavailable while the connection is down.
func WaitForReady(waitForReady bool) CallOption { return FailFastCallOption{FailFast: !waitForReady} }

// FailFastCallOption is the CallOption made by WaitForReady.
type FailFastCallOption struct{ FailFast bool }

func (o FailFastCallOption) apply(ci callInfo) callInfo {
	ci.waitForReady = !o.FailFast
	return ci
}

// CallContentSubtype sends the call as "application/grpc+<subtype>" and
// marshals its messages with the codec registered for subtype (see
// codec.GetCodec), unless ForceCodec names another.
func CallContentSubtype(subtype string) CallOption {
	return ContentSubtypeCallOption{ContentSubtype: subtype}
}

// ContentSubtypeCallOption is the CallOption made by CallContentSubtype.
type ContentSubtypeCallOption struct{ ContentSubtype string }

func (o ContentSubtypeCallOption) apply(ci callInfo) callInfo {
	ci.contentSubtype = o.ContentSubtype
	return ci
}

// ForceCodec marshals the call's messages with c. Unless
// CallContentSubtype says otherwise, the content subtype becomes c.Name().
func ForceCodec(c codec.Codec) CallOption { return ForceCodecCallOption{Codec: c} }

// ForceCodecCallOption is the CallOption made by ForceCodec.
type ForceCodecCallOption struct{ Codec codec.Codec }

func (o ForceCodecCallOption) apply(ci callInfo) callInfo {
	ci.codec = o.Codec
	return ci
}
