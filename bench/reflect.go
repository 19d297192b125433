package bench

import (
	"context"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/status"
	rpb "github.com/h2rpc/h2rpc/stub/reflection/grpc_reflection_v1"
)

// The reflection service's method, in its two versions. v1alpha's
// messages are v1's on the wire.
var reflectionMethods = []string{
	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
}

// ReflectFiles asks the server behind connection 0 of t, through its
// reflection service (grpc.reflection.v1, else v1alpha), for the file
// that defines service and every file it imports.
func ReflectFiles(ctx context.Context, t *H2Transport, service string) (*Files, error) {
	var err error
	for _, m := range reflectionMethods {
		var files *Files
		files, err = reflectWith(ctx, t.ccs[0], m, service)
		if status.Code(err) != codes.Unimplemented {
			return files, err
		}
	}
	return nil, fmt.Errorf("the server has no reflection service (%v): give the service's --proto or --protoset", status.Convert(err).Message())
}

func reflectWith(ctx context.Context, cc *channel.ClientConn, method, service string) (*Files, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := cc.NewStream(ctx, method, &channel.CallOptions{})
	if err != nil {
		return nil, err
	}
	defer cs.CloseSend()
	ask := func(req *rpb.ServerReflectionRequest) (*rpb.ServerReflectionResponse, error) {
		b, err := proto.MarshalOptions{}.MarshalAppend(make([]byte, channel.MsgHeaderLen), req)
		if err != nil {
			return nil, err
		}
		if err := cs.SendMsg(b); err != nil && err != io.EOF {
			return nil, err
		}
		msg, err := cs.RecvMsg(nil)
		if err == io.EOF {
			return nil, status.Error(codes.Unavailable, "the reflection stream ended early")
		}
		if err != nil {
			return nil, err
		}
		resp := new(rpb.ServerReflectionResponse)
		if err := proto.Unmarshal(msg, resp); err != nil {
			return nil, fmt.Errorf("a reflection response does not parse: %v", err)
		}
		return resp, nil
	}
	set := new(descriptorpb.FileDescriptorSet)
	have := map[string]bool{}
	add := func(resp *rpb.ServerReflectionResponse, what string) ([]string, error) {
		if e := resp.GetErrorResponse(); e != nil {
			if codes.Code(e.GetErrorCode()) == codes.NotFound {
				return nil, fmt.Errorf("the server's reflection does not know %s: check --call", what)
			}
			return nil, fmt.Errorf("reflection, asking for %s: %s", what, e.GetErrorMessage())
		}
		var deps []string
		for _, b := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
			fd := new(descriptorpb.FileDescriptorProto)
			if err := proto.Unmarshal(b, fd); err != nil {
				return nil, fmt.Errorf("reflection sent a file descriptor that does not parse: %v", err)
			}
			if have[fd.GetName()] {
				continue
			}
			have[fd.GetName()] = true
			set.File = append(set.File, fd)
			deps = append(deps, fd.GetDependency()...)
		}
		return deps, nil
	}
	resp, err := ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: service}})
	if err != nil {
		return nil, err
	}
	todo, err := add(resp, "service "+service)
	if err != nil {
		return nil, err
	}
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		if have[name] {
			continue
		}
		resp, err := ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileByFilename{FileByFilename: name}})
		if err != nil {
			return nil, err
		}
		more, err := add(resp, "file "+name)
		if err != nil {
			return nil, err
		}
		todo = append(todo, more...)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		return nil, fmt.Errorf("the descriptors the server's reflection sent do not fit together: %v", err)
	}
	return files, nil
}
