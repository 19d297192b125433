package codec

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
)

// Proto is the protobuf binary codec, content subtype "proto", the gRPC
// default. It handles proto.Message values and, through protoadapt, older
// generated messages.
var Proto AppendCodec = protoCodec{}

// JSON is the protobuf JSON codec, content subtype "json". It handles the
// same values as Proto.
var JSON AppendCodec = jsonCodec{}

// asMessage returns v as a proto.Message.
func asMessage(codec string, v any) (proto.Message, error) {
	switch m := v.(type) {
	case proto.Message:
		return m, nil
	case protoadapt.MessageV1:
		return protoadapt.MessageV2Of(m), nil
	}
	return nil, fmt.Errorf("codec: %s: %T is not a proto.Message", codec, v)
}

type protoCodec struct{}

func (protoCodec) Name() string { return "proto" }

func (protoCodec) Marshal(v any) ([]byte, error) {
	m, err := asMessage("proto", v)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(m)
}

func (protoCodec) MarshalAppend(dst []byte, v any) ([]byte, error) {
	m, err := asMessage("proto", v)
	if err != nil {
		return dst, err
	}
	return proto.MarshalOptions{}.MarshalAppend(dst, m)
}

func (protoCodec) Unmarshal(data []byte, v any) error {
	m, err := asMessage("proto", v)
	if err != nil {
		return err
	}
	return proto.Unmarshal(data, m)
}

type jsonCodec struct{}

func (jsonCodec) Name() string { return "json" }

func (jsonCodec) Marshal(v any) ([]byte, error) {
	m, err := asMessage("json", v)
	if err != nil {
		return nil, err
	}
	return protojson.Marshal(m)
}

func (jsonCodec) MarshalAppend(dst []byte, v any) ([]byte, error) {
	m, err := asMessage("json", v)
	if err != nil {
		return dst, err
	}
	return protojson.MarshalOptions{}.MarshalAppend(dst, m)
}

func (jsonCodec) Unmarshal(data []byte, v any) error {
	m, err := asMessage("json", v)
	if err != nil {
		return err
	}
	return protojson.Unmarshal(data, m)
}
