package status

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// rpcStatusType builds google.rpc.Status from a descriptor made here, without
// registering it anywhere.
func rpcStatusType(t testing.TB) protoreflect.MessageType {
	t.Helper()
	fd := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("google/rpc/status.proto"),
		Package:    proto.String("google.rpc"),
		Dependency: []string{"google/protobuf/any.proto"},
		Syntax:     proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Status"),
			Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("code"), JsonName: proto.String("code"), Number: proto.Int32(1),
					Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
					Type:  descriptorpb.FieldDescriptorProto_TYPE_INT32.Enum()},
				{Name: proto.String("message"), JsonName: proto.String("message"), Number: proto.Int32(2),
					Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
					Type:  descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()},
				{Name: proto.String("details"), JsonName: proto.String("details"), Number: proto.Int32(3),
					Label:    descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum(),
					Type:     descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(),
					TypeName: proto.String(".google.protobuf.Any")},
			},
		}},
	}
	f, err := protodesc.NewFile(fd, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return dynamicpb.NewMessageType(f.Messages().ByName("Status"))
}

// toDynamic builds the real google.rpc.Status for s.
func toDynamic(mt protoreflect.MessageType, s *Status) protoreflect.Message {
	m := mt.New()
	fields := m.Descriptor().Fields()
	if s.Code() != 0 {
		m.Set(fields.ByNumber(1), protoreflect.ValueOfInt32(int32(s.Code())))
	}
	if s.Message() != "" {
		m.Set(fields.ByNumber(2), protoreflect.ValueOfString(s.Message()))
	}
	if len(s.DetailsAny()) > 0 {
		l := m.Mutable(fields.ByNumber(3)).List()
		for _, a := range s.DetailsAny() {
			l.Append(protoreflect.ValueOfMessage(a.ProtoReflect()))
		}
	}
	return m
}

func TestNoGlobalRegistration(t *testing.T) {
	if _, err := protoregistry.GlobalTypes.FindMessageByName("google.rpc.Status"); err == nil {
		t.Fatal("google.rpc.Status is registered globally")
	}
}

func testStatuses(t testing.TB) []*Status {
	d, err := New(codes.InvalidArgument, "bad field").WithDetails(
		wrapperspb.String("why"), durationpb.New(1500*time.Millisecond), &anypb.Any{})
	if err != nil {
		t.Fatal(err)
	}
	return []*Status{
		nil,
		New(codes.OK, ""),
		New(codes.OK, "ok with message"),
		New(codes.NotFound, ""),
		New(codes.Unauthenticated, "who are you? ☃"),
		New(codes.Code(1<<31), "negative as int32"),
		New(codes.Code(0xFFFFFFFF), strings.Repeat("long ", 100)),
		d,
	}
}

func TestMarshalMatchesProto(t *testing.T) {
	mt := rpcStatusType(t)
	for i, s := range testStatuses(t) {
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(toDynamic(mt, s).Interface())
		if err != nil {
			t.Fatal(err)
		}
		got := s.MarshalProto()
		if !bytes.Equal(got, want) {
			t.Errorf("%d: MarshalProto = %x, proto.Marshal = %x", i, got, want)
		}
		back, err := UnmarshalProto(want)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if !back.equal(s) {
			t.Errorf("%d: round trip gave %v, want %v", i, back, s)
		}
		// And the real message reads our bytes back to the same thing.
		m := mt.New()
		if err := proto.Unmarshal(got, m.Interface()); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(m.Interface(), toDynamic(mt, s).Interface()) {
			t.Errorf("%d: dynamic message differs after reading our bytes", i)
		}
	}
}

func TestMarshalByHand(t *testing.T) {
	a := &anypb.Any{TypeUrl: "type.googleapis.com/x.Y", Value: []byte{1, 2, 3}}
	s := &Status{code: codes.NotFound, msg: "nope", details: []*anypb.Any{a}}
	var any []byte
	any = protowire.AppendTag(any, 1, protowire.BytesType)
	any = protowire.AppendString(any, a.TypeUrl)
	any = protowire.AppendTag(any, 2, protowire.BytesType)
	any = protowire.AppendBytes(any, a.Value)
	var want []byte
	want = protowire.AppendTag(want, 1, protowire.VarintType)
	want = protowire.AppendVarint(want, 5)
	want = protowire.AppendTag(want, 2, protowire.BytesType)
	want = protowire.AppendString(want, "nope")
	want = protowire.AppendTag(want, 3, protowire.BytesType)
	want = protowire.AppendBytes(want, any)
	if got := s.MarshalProto(); !bytes.Equal(got, want) {
		t.Fatalf("MarshalProto = %x, want %x", got, want)
	}
	if got := s.AppendProto([]byte("pre")); !bytes.Equal(got, append([]byte("pre"), want...)) {
		t.Fatalf("AppendProto did not append")
	}
}

func TestUnmarshalProto(t *testing.T) {
	tag := func(b []byte, num protowire.Number, typ protowire.Type) []byte {
		return protowire.AppendTag(b, num, typ)
	}
	var unknownFields []byte
	unknownFields = tag(unknownFields, 9, protowire.VarintType)
	unknownFields = protowire.AppendVarint(unknownFields, 77)
	unknownFields = tag(unknownFields, 10, protowire.StartGroupType)
	unknownFields = tag(unknownFields, 1, protowire.Fixed32Type)
	unknownFields = protowire.AppendFixed32(unknownFields, 1)
	unknownFields = tag(unknownFields, 10, protowire.EndGroupType)
	unknownFields = tag(unknownFields, 1, protowire.BytesType) // code with the wrong wire type
	unknownFields = protowire.AppendString(unknownFields, "x")
	unknownFields = tag(unknownFields, 1, protowire.VarintType)
	unknownFields = protowire.AppendVarint(unknownFields, 3)
	unknownFields = tag(unknownFields, 2, protowire.BytesType)
	unknownFields = protowire.AppendString(unknownFields, "kept")

	var twice []byte
	twice = tag(twice, 1, protowire.VarintType)
	twice = protowire.AppendVarint(twice, 3)
	twice = tag(twice, 1, protowire.VarintType)
	twice = protowire.AppendVarint(twice, 5)

	var badUTF8 []byte
	badUTF8 = tag(badUTF8, 2, protowire.BytesType)
	badUTF8 = protowire.AppendBytes(badUTF8, []byte{0xff, 0xfe})

	var badAny []byte
	badAny = tag(badAny, 3, protowire.BytesType)
	badAny = protowire.AppendBytes(badAny, []byte{0x0a, 0x05, 'a'})

	tests := []struct {
		name    string
		in      []byte
		wantErr bool
		code    codes.Code
		msg     string
	}{
		{name: "empty", in: nil},
		{name: "unknown fields skipped", in: unknownFields, code: codes.InvalidArgument, msg: "kept"},
		{name: "last code wins", in: twice, code: codes.NotFound},
		{name: "truncated tag", in: []byte{0x80}, wantErr: true},
		{name: "field zero", in: []byte{0x00, 0x01}, wantErr: true},
		{name: "truncated varint", in: []byte{0x08, 0x80}, wantErr: true},
		{name: "truncated string", in: []byte{0x12, 0x05, 'a'}, wantErr: true},
		{name: "bad utf8", in: badUTF8, wantErr: true},
		{name: "bad any", in: badAny, wantErr: true},
		{name: "unterminated group", in: []byte{0x53}, wantErr: true},
		{name: "end group alone", in: []byte{0x54}, wantErr: true},
		{name: "reserved wire type", in: []byte{0x0e}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := UnmarshalProto(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %v, want an error", s)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Code() != tt.code || s.Message() != tt.msg {
				t.Fatalf("got %v %q, want %v %q", s.Code(), s.Message(), tt.code, tt.msg)
			}
		})
	}
}

func TestEncodeDecodeMessage(t *testing.T) {
	tests := []struct {
		raw, enc string
	}{
		{"", ""},
		{"plain text, with spaces ~!", "plain text, with spaces ~!"},
		{"100%", "100%25"},
		{"a\nb\tc", "a%0Ab%09c"},
		{"\x00\x7f\xff", "%00%7F%FF"},
		{"héllo ☃", "h%C3%A9llo %E2%98%83"},
		{"\xc3", "%C3"}, // invalid UTF-8 is carried byte for byte
	}
	for _, tt := range tests {
		if got := EncodeMessage(tt.raw); got != tt.enc {
			t.Errorf("EncodeMessage(%q) = %q, want %q", tt.raw, got, tt.enc)
		}
		if got := DecodeMessage(tt.enc); got != tt.raw {
			t.Errorf("DecodeMessage(%q) = %q, want %q", tt.enc, got, tt.raw)
		}
	}
	lenient := []struct {
		in, want string
	}{
		{"%", "%"},
		{"%4", "%4"},
		{"%zz", "%zz"},
		{"%4g", "%4g"},
		{"%e2%98%83", "☃"},
		{"50%% off %41", "50%% off A"},
		{"%%41", "%A"},
	}
	for _, tt := range lenient {
		if got := DecodeMessage(tt.in); got != tt.want {
			t.Errorf("DecodeMessage(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEncodeMessageNoAlloc(t *testing.T) {
	msg := "nothing to escape here, just words"
	if n := testing.AllocsPerRun(100, func() { _ = EncodeMessage(msg) }); n != 0 {
		t.Fatalf("EncodeMessage allocated %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = DecodeMessage(msg) }); n != 0 {
		t.Fatalf("DecodeMessage allocated %v times", n)
	}
}

func FuzzUnmarshalProto(f *testing.F) {
	for _, s := range testStatuses(f) {
		f.Add(s.MarshalProto())
	}
	f.Add([]byte{0x08, 0x05, 0x53, 0x54})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := UnmarshalProto(b)
		if err != nil {
			return
		}
		again, err := UnmarshalProto(s.MarshalProto())
		if err != nil {
			t.Fatalf("re-reading our own output: %v", err)
		}
		if !again.equal(s) {
			t.Fatalf("round trip changed %v into %v", s, again)
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{"", "a", "%", "%4", "%41", "%zz", "\xff", "100%", "☃"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := DecodeMessage(EncodeMessage(s)); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		enc := EncodeMessage(s)
		for i := 0; i < len(enc); i++ {
			if needsEscape(enc[i]) && enc[i] != '%' {
				t.Fatalf("EncodeMessage(%q) left byte %#x", s, enc[i])
			}
		}
		_ = DecodeMessage(s)
	})
}
