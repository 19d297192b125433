package stub

import "context"

// ServiceDesc describes a service: its name, the interface its
// implementations satisfy and its methods. Generated code declares one per
// service (Greeter_ServiceDesc) and passes it to RegisterService.
type ServiceDesc struct {
	// ServiceName is the full name of the service, e.g. "helloworld.Greeter".
	ServiceName string
	// HandlerType is a pointer to the service's server interface, e.g.
	// (*GreeterServer)(nil); registration checks that the implementation
	// satisfies it.
	HandlerType any
	// Methods are the unary methods.
	Methods []MethodDesc
	// Streams are the streaming methods.
	Streams []StreamDesc
	// Metadata is the name of the .proto file the service comes from.
	Metadata any
}

// MethodDesc describes a unary method.
type MethodDesc struct {
	MethodName string
	Handler    MethodHandler
}

// MethodHandler runs one unary call: it decodes the request with dec, then
// calls the method of srv directly or through interceptor when it is not nil.
type MethodHandler func(srv any, ctx context.Context, dec func(any) error, interceptor UnaryServerInterceptor) (any, error)

// StreamDesc describes a streaming method. On the client it tells NewStream
// whether the server sends a stream (ServerStreams) and whether the client
// does (ClientStreams).
type StreamDesc struct {
	StreamName string
	Handler    StreamHandler

	ServerStreams bool
	ClientStreams bool
}

// StreamHandler runs one streaming call on the server.
type StreamHandler func(srv any, stream ServerStream) error

// ServiceRegistrar registers services; *Server is one. Generated
// RegisterXServer functions take it, so tests and wrappers can supply their
// own.
type ServiceRegistrar interface {
	// RegisterService registers impl, which must implement
	// desc.HandlerType, as the service described by desc. It is called
	// before serving starts.
	RegisterService(desc *ServiceDesc, impl any)
}

// ServiceInfo describes a registered service, as returned by
// Server.GetServiceInfo.
type ServiceInfo struct {
	Methods []MethodInfo
	// Metadata is the ServiceDesc's Metadata.
	Metadata any
}

// MethodInfo describes one method of a registered service.
type MethodInfo struct {
	// Name is the method's name alone, without the service.
	Name           string
	IsClientStream bool
	IsServerStream bool
}
