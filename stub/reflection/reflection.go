//lint:file-ignore SA1019 grpc.reflection.v1alpha is deprecated upstream, and is still served for the clients that use it.

package reflection

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/stub"
	"github.com/h2rpc/h2rpc/stub/internal/protoreg"
	v1pb "github.com/h2rpc/h2rpc/stub/reflection/grpc_reflection_v1"
	v1alphapb "github.com/h2rpc/h2rpc/stub/reflection/grpc_reflection_v1alpha"
)

// ServiceInfoProvider lists a server's services; *stub.Server is one.
type ServiceInfoProvider interface {
	GetServiceInfo() map[string]stub.ServiceInfo
}

// GRPCServer is a server reflection can be registered on and that lists its
// services; *stub.Server is one.
type GRPCServer interface {
	stub.ServiceRegistrar
	ServiceInfoProvider
}

// ExtensionResolver finds extensions by the message they extend, for
// file_containing_extension and all_extension_numbers_of_type.
// *protoregistry.Types is one.
type ExtensionResolver interface {
	protoregistry.ExtensionTypeResolver
	RangeExtensionsByMessage(message protoreflect.FullName, f func(protoreflect.ExtensionType) bool)
}

// ServerOptions configure a reflection service made by NewServer or
// NewServerV1.
type ServerOptions struct {
	// Services lists the services to report; required.
	Services ServiceInfoProvider
	// DescriptorResolver finds files and symbols. When nil, protobuf's
	// global registry is searched, then h2rpc's own.
	DescriptorResolver protodesc.Resolver
	// ExtensionResolver finds extensions. When nil, protobuf's global
	// registry is searched, then h2rpc's own.
	ExtensionResolver ExtensionResolver
}

// Register registers both reflection services, v1 and v1alpha, on s,
// reporting the services registered on s.
func Register(s GRPCServer) {
	opts := ServerOptions{Services: s}
	v1alphapb.RegisterServerReflectionServer(s, NewServer(opts))
	v1pb.RegisterServerReflectionServer(s, NewServerV1(opts))
}

// NewServerV1 returns the grpc.reflection.v1 service configured by opts, to
// be registered with grpc_reflection_v1.RegisterServerReflectionServer.
func NewServerV1(opts ServerOptions) v1pb.ServerReflectionServer {
	return &serverV1{r: newReflector(opts)}
}

// NewServer returns the grpc.reflection.v1alpha service configured by opts,
// to be registered with grpc_reflection_v1alpha.RegisterServerReflectionServer.
func NewServer(opts ServerOptions) v1alphapb.ServerReflectionServer {
	return &serverV1alpha{r: newReflector(opts)}
}

// reflector answers reflection questions; it is shared by the calls of one
// service and read-only.
type reflector struct {
	services ServiceInfoProvider
	files    protodesc.Resolver
	exts     ExtensionResolver
}

func newReflector(opts ServerOptions) *reflector {
	r := &reflector{services: opts.Services, files: opts.DescriptorResolver, exts: opts.ExtensionResolver}
	if r.files == nil {
		r.files = resolvers{protoregistry.GlobalFiles, protoreg.Files}
	}
	if r.exts == nil {
		r.exts = extResolvers{protoregistry.GlobalTypes, protoreg.Types}
	}
	return r
}

type serverV1 struct {
	v1pb.UnimplementedServerReflectionServer
	r *reflector
}

// ServerReflectionInfo answers each request on the stream in order.
func (s *serverV1) ServerReflectionInfo(stream stub.BidiStreamingServer[v1pb.ServerReflectionRequest, v1pb.ServerReflectionResponse]) error {
	same := func(m *v1pb.ServerReflectionRequest) (*v1pb.ServerReflectionRequest, error) { return m, nil }
	return answerAll(s.r.newCall(), stream, same, func(m *v1pb.ServerReflectionResponse) (*v1pb.ServerReflectionResponse, error) { return m, nil })
}

// answerAll answers each request of stream in order, through toV1 and
// fromV1, which turn its messages into v1's and back.
func answerAll[Req, Res any](c *call, stream stub.BidiStreamingServer[Req, Res], toV1 func(*Req) (*v1pb.ServerReflectionRequest, error), fromV1 func(*v1pb.ServerReflectionResponse) (*Res, error)) error {
	for {
		in, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		req, err := toV1(in)
		if err != nil {
			return err
		}
		res, err := c.answer(req)
		if err != nil {
			return err
		}
		out, err := fromV1(res)
		if err != nil {
			return err
		}
		if err := stream.Send(out); err != nil {
			return err
		}
	}
}

type serverV1alpha struct {
	v1alphapb.UnimplementedServerReflectionServer
	r *reflector
}

// ServerReflectionInfo answers each request on the stream in order. The
// two versions have the same messages under other names, so a v1alpha
// request is answered as the v1 request of the same bytes.
func (s *serverV1alpha) ServerReflectionInfo(stream stub.BidiStreamingServer[v1alphapb.ServerReflectionRequest, v1alphapb.ServerReflectionResponse]) error {
	return answerAll(s.r.newCall(), stream,
		func(m *v1alphapb.ServerReflectionRequest) (*v1pb.ServerReflectionRequest, error) {
			out := new(v1pb.ServerReflectionRequest)
			return out, convert(m, out)
		},
		func(m *v1pb.ServerReflectionResponse) (*v1alphapb.ServerReflectionResponse, error) {
			out := new(v1alphapb.ServerReflectionResponse)
			return out, convert(m, out)
		})
}

// convert copies from into to, a message of the same wire format.
func convert(from, to proto.Message) error {
	b, err := proto.Marshal(from)
	if err == nil {
		err = proto.Unmarshal(b, to)
	}
	if err != nil {
		return status.Errorf(codes.Internal, "reflection: %v", err)
	}
	return nil
}

// call is the state of one reflection stream: the files it has sent, and
// the descriptors of services described at run time.
type call struct {
	r       *reflector
	sent    map[string]bool
	dynamic *protoregistry.Files // nil until needed
	files   protodesc.Resolver
}

func (r *reflector) newCall() *call {
	return &call{r: r, sent: map[string]bool{}, files: r.files}
}

// loadDynamic registers, once per stream, the file descriptors that
// registered services carry as their Metadata, with their imports, so
// that they can be found by name.
func (c *call) loadDynamic() {
	if c.dynamic != nil {
		return
	}
	c.dynamic = new(protoregistry.Files)
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if fd.IsPlaceholder() {
			return
		}
		if _, err := c.dynamic.FindFileByPath(fd.Path()); err == nil {
			return
		}
		if c.dynamic.RegisterFile(fd) != nil {
			return // a name clash: the first file keeps the name
		}
		for i := range fd.Imports().Len() {
			add(fd.Imports().Get(i).FileDescriptor)
		}
	}
	for _, info := range c.r.services.GetServiceInfo() {
		if fd, ok := info.Metadata.(protoreflect.FileDescriptor); ok {
			add(fd)
		}
	}
	if c.dynamic.NumFiles() > 0 {
		c.files = resolvers{c.r.files, c.dynamic}
	}
}

// answer answers one request. An error ends the stream; a question that
// cannot be answered gets an error_response instead.
func (c *call) answer(in *v1pb.ServerReflectionRequest) (*v1pb.ServerReflectionResponse, error) {
	c.loadDynamic()
	out := &v1pb.ServerReflectionResponse{ValidHost: in.GetHost(), OriginalRequest: in}
	var err error
	switch req := in.GetMessageRequest().(type) {
	case *v1pb.ServerReflectionRequest_ListServices:
		out.MessageResponse = &v1pb.ServerReflectionResponse_ListServicesResponse{ListServicesResponse: c.listServices()}
	case *v1pb.ServerReflectionRequest_FileByFilename:
		var fd protoreflect.FileDescriptor
		if fd, err = c.files.FindFileByPath(req.FileByFilename); err == nil {
			out.MessageResponse, err = c.fileResponse(fd)
		}
	case *v1pb.ServerReflectionRequest_FileContainingSymbol:
		var fd protoreflect.FileDescriptor
		if fd, err = c.fileOfSymbol(protoreflect.FullName(req.FileContainingSymbol)); err == nil {
			out.MessageResponse, err = c.fileResponse(fd)
		}
	case *v1pb.ServerReflectionRequest_FileContainingExtension:
		e := req.FileContainingExtension
		var xt protoreflect.ExtensionType
		if xt, err = c.r.exts.FindExtensionByNumber(protoreflect.FullName(e.GetContainingType()), protoreflect.FieldNumber(e.GetExtensionNumber())); err == nil {
			out.MessageResponse, err = c.fileResponse(xt.TypeDescriptor().ParentFile())
		}
	case *v1pb.ServerReflectionRequest_AllExtensionNumbersOfType:
		var nums *v1pb.ExtensionNumberResponse
		if nums, err = c.extensionNumbers(protoreflect.FullName(req.AllExtensionNumbersOfType)); err == nil {
			out.MessageResponse = &v1pb.ServerReflectionResponse_AllExtensionNumbersResponse{AllExtensionNumbersResponse: nums}
		}
	default:
		return nil, status.Errorf(codes.InvalidArgument, "invalid MessageRequest: %v", in.GetMessageRequest())
	}
	if err != nil {
		code := codes.NotFound
		if !errors.Is(err, protoregistry.NotFound) {
			code = codes.Internal
		}
		out.MessageResponse = &v1pb.ServerReflectionResponse_ErrorResponse{ErrorResponse: &v1pb.ErrorResponse{
			ErrorCode: int32(code), ErrorMessage: err.Error(),
		}}
	}
	return out, nil
}

// listServices names the registered services, sorted.
func (c *call) listServices() *v1pb.ListServiceResponse {
	infos := c.r.services.GetServiceInfo()
	names := make([]string, 0, len(infos))
	for name := range infos {
		names = append(names, name)
	}
	slices.Sort(names)
	out := &v1pb.ListServiceResponse{Service: make([]*v1pb.ServiceResponse, len(names))}
	for i, name := range names {
		out.Service[i] = &v1pb.ServiceResponse{Name: name}
	}
	return out
}

// fileOfSymbol returns the file that declares name. A registered service
// not found by name is looked for in the file its Metadata names.
func (c *call) fileOfSymbol(name protoreflect.FullName) (protoreflect.FileDescriptor, error) {
	d, err := c.files.FindDescriptorByName(name)
	if err == nil {
		return d.ParentFile(), nil
	}
	if info, ok := c.r.services.GetServiceInfo()[string(name)]; ok {
		if path, ok := info.Metadata.(string); ok {
			if fd, err := c.files.FindFileByPath(path); err == nil && fd.Services().ByName(name.Name()) != nil {
				return fd, nil
			}
		}
	}
	return nil, fmt.Errorf("symbol not found: %q: %w", name, protoregistry.NotFound)
}

// fileResponse returns fd and the files it imports, transitively, in
// breadth-first order; fd itself always, the others only when this stream
// has not had them yet.
func (c *call) fileResponse(fd protoreflect.FileDescriptor) (*v1pb.ServerReflectionResponse_FileDescriptorResponse, error) {
	if fd.IsPlaceholder() {
		return nil, fmt.Errorf("file %q: %w", fd.Path(), protoregistry.NotFound)
	}
	var files [][]byte
	seen := map[string]bool{}
	queue := []protoreflect.FileDescriptor{fd}
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		if f.IsPlaceholder() || seen[f.Path()] {
			continue
		}
		seen[f.Path()] = true
		if len(files) == 0 || !c.sent[f.Path()] {
			b, err := proto.Marshal(protodesc.ToFileDescriptorProto(f))
			if err != nil {
				return nil, err
			}
			files = append(files, b)
			c.sent[f.Path()] = true
		}
		for i := range f.Imports().Len() {
			queue = append(queue, f.Imports().Get(i).FileDescriptor)
		}
	}
	return &v1pb.ServerReflectionResponse_FileDescriptorResponse{
		FileDescriptorResponse: &v1pb.FileDescriptorResponse{FileDescriptorProto: files},
	}, nil
}

// extensionNumbers lists the extension numbers of the message type name.
func (c *call) extensionNumbers(name protoreflect.FullName) (*v1pb.ExtensionNumberResponse, error) {
	d, err := c.files.FindDescriptorByName(name)
	if err != nil {
		return nil, fmt.Errorf("message type %q: %w", name, err)
	}
	if _, ok := d.(protoreflect.MessageDescriptor); !ok {
		return nil, fmt.Errorf("%q is not a message type: %w", name, protoregistry.NotFound)
	}
	var nums []int32
	c.r.exts.RangeExtensionsByMessage(name, func(xt protoreflect.ExtensionType) bool {
		nums = append(nums, int32(xt.TypeDescriptor().Number()))
		return true
	})
	slices.Sort(nums)
	return &v1pb.ExtensionNumberResponse{BaseTypeName: string(name), ExtensionNumber: nums}, nil
}

// resolvers searches its resolvers in order.
type resolvers []protodesc.Resolver

func (rs resolvers) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	for _, r := range rs {
		if fd, err := r.FindFileByPath(path); err == nil {
			return fd, nil
		}
	}
	return nil, fmt.Errorf("file not found: %q: %w", path, protoregistry.NotFound)
}

func (rs resolvers) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	for _, r := range rs {
		if d, err := r.FindDescriptorByName(name); err == nil {
			return d, nil
		}
	}
	return nil, fmt.Errorf("symbol not found: %q: %w", name, protoregistry.NotFound)
}

// extResolvers searches its resolvers in order.
type extResolvers []ExtensionResolver

func (rs extResolvers) FindExtensionByName(name protoreflect.FullName) (protoreflect.ExtensionType, error) {
	for _, r := range rs {
		if xt, err := r.FindExtensionByName(name); err == nil {
			return xt, nil
		}
	}
	return nil, fmt.Errorf("extension not found: %q: %w", name, protoregistry.NotFound)
}

func (rs extResolvers) FindExtensionByNumber(message protoreflect.FullName, field protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	for _, r := range rs {
		if xt, err := r.FindExtensionByNumber(message, field); err == nil {
			return xt, nil
		}
	}
	return nil, fmt.Errorf("extension %d of %q not found: %w", field, message, protoregistry.NotFound)
}

func (rs extResolvers) RangeExtensionsByMessage(message protoreflect.FullName, f func(protoreflect.ExtensionType) bool) {
	seen := map[protoreflect.FieldNumber]bool{}
	for _, r := range rs {
		r.RangeExtensionsByMessage(message, func(xt protoreflect.ExtensionType) bool {
			n := xt.TypeDescriptor().Number()
			if seen[n] {
				return true
			}
			seen[n] = true
			return f(xt)
		})
	}
}
