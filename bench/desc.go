package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	pb "github.com/h2rpc/h2rpc/interop/grpc_testing"
)

// Method is the method a run calls, as its descriptor describes it.
type Method struct {
	Desc protoreflect.MethodDescriptor
	// Path is "/package.Service/Method".
	Path string
	Kind Kind
}

// Files holds the descriptors methods are looked up in.
type Files = protoregistry.Files

// BuiltinFiles returns the descriptors compiled into h2rpc: the
// grpc.testing interop service.
func BuiltinFiles() (*Files, error) {
	return filesOf(pb.File_interop_grpc_testing_test_proto)
}

// filesOf returns a registry of fd and everything it imports.
func filesOf(fd protoreflect.FileDescriptor) (*Files, error) {
	files := new(protoregistry.Files)
	var add func(f protoreflect.FileDescriptor) error
	add = func(f protoreflect.FileDescriptor) error {
		if _, err := files.FindFileByPath(f.Path()); err == nil {
			return nil
		}
		imps := f.Imports()
		for i := range imps.Len() {
			if err := add(imps.Get(i).FileDescriptor); err != nil {
				return err
			}
		}
		return files.RegisterFile(f)
	}
	if err := add(fd); err != nil {
		return nil, err
	}
	return files, nil
}

// LoadProtoset reads a FileDescriptorSet (protoc --descriptor_set_out
// --include_imports, or buf build -o) from path.
func LoadProtoset(path string) (*Files, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("protoset: %w", err)
	}
	return parseProtoset(b, path)
}

func parseProtoset(b []byte, name string) (*Files, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("protoset %s is not a FileDescriptorSet: %v", name, err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("protoset %s: %v (was it built with --include_imports?)", name, err)
	}
	return files, nil
}

// CompileProtos compiles .proto files with protoc (which must be on PATH)
// into descriptors, looking for imports in importPaths (and each file's
// own directory).
func CompileProtos(protos, importPaths []string) (*Files, error) {
	if _, err := exec.LookPath("protoc"); err != nil {
		return nil, errors.New("--proto needs protoc on PATH (install protobuf-compiler), or give a --protoset built elsewhere")
	}
	dir, err := os.MkdirTemp("", "h2rpc-bench-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "set.pb")
	args := []string{"--include_imports", "--descriptor_set_out=" + out}
	seen := map[string]bool{}
	addPath := func(p string) {
		if !seen[p] {
			seen[p] = true
			args = append(args, "-I"+p)
		}
	}
	for _, p := range importPaths {
		addPath(p)
	}
	var names []string
	for _, f := range protos {
		if _, err := os.Stat(f); err != nil && len(importPaths) == 0 {
			return nil, fmt.Errorf("--proto %s: %v", f, err)
		}
		if len(importPaths) == 0 {
			addPath(filepath.Dir(f))
			names = append(names, filepath.Base(f))
		} else {
			names = append(names, f)
		}
	}
	cmd := exec.Command("protoc", append(args, names...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.Join(strings.Fields(stderr.String()), " ")
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("protoc could not compile %s: %s", strings.Join(protos, " "), msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	return parseProtoset(b, "from protoc")
}

// FindMethod looks call up in files: "package.Service.Method" or
// "package.Service/Method" (a leading "/" is allowed).
func FindMethod(files *Files, call string) (*Method, error) {
	svc, name, err := splitCall(call)
	if err != nil {
		return nil, err
	}
	d, err := files.FindDescriptorByName(protoreflect.FullName(svc))
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if err != nil || !ok {
		var all []string
		files.RangeFiles(func(f protoreflect.FileDescriptor) bool {
			for i := range f.Services().Len() {
				all = append(all, string(f.Services().Get(i).FullName()))
			}
			return true
		})
		sort.Strings(all)
		if len(all) == 0 {
			return nil, fmt.Errorf("unknown service %s: the descriptors hold no service", svc)
		}
		return nil, fmt.Errorf("unknown service %s: the descriptors have %s", svc, strings.Join(all, ", "))
	}
	md := sd.Methods().ByName(protoreflect.Name(name))
	if md == nil {
		var all []string
		for i := range sd.Methods().Len() {
			all = append(all, string(sd.Methods().Get(i).Name()))
		}
		return nil, fmt.Errorf("unknown method %s in service %s, which has %s", name, svc, strings.Join(all, ", "))
	}
	return methodOf(md), nil
}

func methodOf(md protoreflect.MethodDescriptor) *Method {
	m := &Method{Desc: md, Path: "/" + string(md.Parent().FullName()) + "/" + string(md.Name())}
	switch {
	case md.IsStreamingClient() && md.IsStreamingServer():
		m.Kind = BidiStream
	case md.IsStreamingClient():
		m.Kind = ClientStream
	case md.IsStreamingServer():
		m.Kind = ServerStream
	}
	return m
}

// splitCall splits "pkg.Service.Method" or "pkg.Service/Method".
func splitCall(call string) (svc, method string, err error) {
	c := strings.TrimPrefix(call, "/")
	i := strings.LastIndexByte(c, '/')
	if i < 0 {
		i = strings.LastIndexByte(c, '.')
	}
	if i <= 0 || i == len(c)-1 {
		return "", "", fmt.Errorf("--call %q is not package.Service.Method (or package.Service/Method)", call)
	}
	return c[:i], c[i+1:], nil
}

// EncodeJSON turns data into encoded request messages of type md: one JSON
// object, a JSON array of them, or JSON lines (one object per line).
func EncodeJSON(md protoreflect.MessageDescriptor, data []byte) ([][]byte, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		data = []byte("{}")
	}
	var objs []json.RawMessage
	switch data[0] {
	case '[':
		if err := json.Unmarshal(data, &objs); err != nil {
			return nil, fmt.Errorf("the request data is not a JSON array of objects: %v", err)
		}
	case '{':
		dec := json.NewDecoder(bytes.NewReader(data))
		for {
			var o json.RawMessage
			if err := dec.Decode(&o); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("the request data is not JSON (one object, an array, or one object per line): %v", err)
			}
			objs = append(objs, o)
		}
	default:
		return nil, errors.New("the request data is not JSON: it must be an object, an array of objects, or one object per line")
	}
	if len(objs) == 0 {
		return nil, errors.New("the request data holds no message")
	}
	out := make([][]byte, 0, len(objs))
	for i, o := range objs {
		m := dynamicpb.NewMessage(md)
		if err := protojson.Unmarshal(o, m); err != nil {
			where := ""
			if len(objs) > 1 {
				where = fmt.Sprintf(" (message %d)", i+1)
			}
			return nil, fmt.Errorf("the request JSON%s does not match %s: %v", where, md.FullName(), oneLine(err.Error()))
		}
		b, err := proto.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %v", md.FullName(), err)
		}
		out = append(out, b)
	}
	return out, nil
}

// ReadRequestFile is EncodeJSON for a file of JSON.
func ReadRequestFile(md protoreflect.MessageDescriptor, path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("request file: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := bufio.NewReader(f).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("request file %s: %v", path, err)
	}
	return EncodeJSON(md, buf.Bytes())
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// PayloadRequest builds a request of type md that carries and asks for
// size bytes, for the grpc.testing messages: it fills a field "payload"
// (a message with bytes "body") with size zero bytes, sets
// "response_size" to size, and adds one "response_parameters" entry of
// that size.
func PayloadRequest(md protoreflect.MessageDescriptor, size int) ([]byte, error) {
	m := dynamicpb.NewMessage(md)
	used := false
	fields := md.Fields()
	if f := fields.ByName("payload"); f != nil && f.Message() != nil {
		if body := f.Message().Fields().ByName("body"); body != nil && body.Kind() == protoreflect.BytesKind {
			p := m.NewField(f).Message()
			p.Set(body, protoreflect.ValueOfBytes(make([]byte, size)))
			m.Set(f, protoreflect.ValueOfMessage(p))
			used = true
		}
	}
	if f := fields.ByName("response_size"); f != nil && f.Kind() == protoreflect.Int32Kind {
		m.Set(f, protoreflect.ValueOfInt32(int32(size)))
		used = true
	}
	if f := fields.ByName("response_parameters"); f != nil && f.IsList() && f.Message() != nil {
		if sz := f.Message().Fields().ByName("size"); sz != nil && sz.Kind() == protoreflect.Int32Kind {
			l := m.Mutable(f).List()
			e := l.NewElement().Message()
			e.Set(sz, protoreflect.ValueOfInt32(int32(size)))
			l.Append(protoreflect.ValueOfMessage(e))
			used = true
		}
	}
	if !used {
		return nil, fmt.Errorf("--payload-size needs a request with a payload, response_size or response_parameters field (grpc.testing); %s has none: give -d JSON instead", md.FullName())
	}
	return proto.Marshal(m)
}
