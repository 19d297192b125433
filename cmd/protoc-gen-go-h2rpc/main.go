package main

import (
	"flag"
	"fmt"
	"os"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// version is the version of this generator, written into each generated
// file's header.
const version = "0.1.0"

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println("protoc-gen-go-h2rpc", version)
		return
	}
	var flags flag.FlagSet
	cfg := config{requireUnimplemented: true}
	flags.BoolVar(&cfg.requireUnimplemented, "require_unimplemented_servers", true,
		"require server implementations to embed UnimplementedXServer")
	protogen.Options{ParamFunc: flags.Set}.Run(func(gen *protogen.Plugin) error {
		return generate(gen, cfg)
	})
}

// config holds the plugin's options.
type config struct {
	requireUnimplemented bool
}

// Editions the generator declares to the compiler: proto2 and proto3 files,
// and editions up to 2024, the newest that google.golang.org/protobuf's
// protogen (v1.36) supports. Service code depends on no edition feature
// (messages are only named), so the range is protogen's. A compiler refuses
// a file of a later edition before it runs the plugin.
const (
	editionsMinimum = descriptorpb.Edition_EDITION_PROTO2
	editionsMaximum = descriptorpb.Edition_EDITION_2024
)

// supportedFeatures are the optional compiler features the generator
// handles: proto3 optional fields and editions.
const supportedFeatures = uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL |
	pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)

// generate writes one _h2rpc.pb.go file for each requested file that has
// services.
func generate(gen *protogen.Plugin, cfg config) error {
	gen.SupportedFeatures = supportedFeatures
	gen.SupportedEditionsMinimum = editionsMinimum
	gen.SupportedEditionsMaximum = editionsMaximum
	for _, f := range gen.Files {
		if f.Generate {
			generateFile(gen, f, cfg)
		}
	}
	return nil
}
